//! A file attached to a reply, checked as ITFlow checks an upload
//! (functions/sanitize.php `checkFileUpload` at 2.6.7, with the extension
//! list of functions/files.php `saveTicketAttachments`), and named as
//! ITFlow names the stored copy.

use crate::messages::Message;

/// The extensions ITFlow accepts for ticket attachments (the same list at
/// 2.4.4's portal and 2.6.7's `saveTicketAttachments`).
pub const ALLOWED_EXTENSIONS: [&str; 30] = [
    "jpg", "jpeg", "gif", "png", "webp", "pdf", "txt", "md", "doc", "docx", "odt", "csv", "xls",
    "xlsx", "ods", "pptx", "odp", "zip", "tar", "gz", "xml", "msg", "json", "wav", "mp3", "ogg",
    "mov", "mp4", "av1", "ovpn",
];

/// `ticket_attachment_name`'s width.
pub const MAX_NAME_CHARS: usize = 255;

/// An attachment's original name, accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentName {
    /// The name as the client sent it (the email manifest's `name`).
    pub original: String,
    /// The extension, lowercased: what the stored copy ends in.
    pub extension: String,
}

impl AttachmentName {
    /// Refused: an empty name, one over 255 characters, path separators, `..`, NUL or other control
    /// characters, and an extension not on ITFlow's list. The extension is
    /// what follows the last dot (`x.php.jpg` is a `jpg`, as in ITFlow).
    pub fn parse(raw: &str) -> Result<AttachmentName, Message> {
        // ticket_attachment_name is a VARCHAR(255): a longer name would
        // fail the INSERT (a 500) rather than be refused.
        let unsafe_name = raw.trim().is_empty()
            || raw.chars().count() > MAX_NAME_CHARS
            || raw.contains(['/', '\\'])
            || raw.contains("..")
            || raw.chars().any(char::is_control);
        if unsafe_name {
            return Err(Message::AttachmentName);
        }
        let extension = match raw.rsplit_once('.') {
            Some((_, ext)) => ext.to_lowercase(),
            None => String::new(),
        };
        if !ALLOWED_EXTENSIONS.contains(&extension.as_str()) {
            return Err(Message::AttachmentExtension);
        }
        Ok(AttachmentName {
            original: raw.to_owned(),
            extension,
        })
    }

    /// `ticket_attachment_name`: the name as `escapeSql` leaves it
    /// (strip_tags and trim).
    pub fn stored(&self) -> String {
        crate::php::sanitize_input(&self.original)
    }

    /// The stored copy's name: 32 unguessable characters of ITFlow's
    /// `randomString` alphabet (`random`) and the lowercased extension.
    pub fn reference(&self, random: &str) -> String {
        format!("{random}.{}", self.extension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_itflow_checks_them() {
        let ok = AttachmentName::parse("Report.PDF").unwrap();
        assert_eq!(
            (ok.extension.as_str(), ok.reference("abc")),
            ("pdf", "abc.pdf".into())
        );
        assert_eq!(AttachmentName::parse("x.php.jpg").unwrap().extension, "jpg");
        for bad in ["x.php", "README", "x.", "shell.phtml"] {
            assert_eq!(
                AttachmentName::parse(bad),
                Err(Message::AttachmentExtension),
                "{bad}"
            );
        }
        for bad in [
            "../x.pdf", "a/b.pdf", "a\\b.pdf", "a\0.pdf", "a\n.pdf", "", "  ", "a..pdf",
        ] {
            assert_eq!(
                AttachmentName::parse(bad),
                Err(Message::AttachmentName),
                "{bad:?}"
            );
        }
        // 255 characters (not bytes) fit the column; 256 do not.
        let longest = format!("{}.pdf", "é".repeat(251));
        assert!(AttachmentName::parse(&longest).is_ok());
        assert_eq!(
            AttachmentName::parse(&format!("x{longest}")),
            Err(Message::AttachmentName)
        );
        assert_eq!(
            AttachmentName::parse(" <b>x.png").unwrap().stored(),
            "x.png"
        );
    }
}
