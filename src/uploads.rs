//! Attachments on disk, where ITFlow keeps them:
//! `<uploads_dir>/tickets/<ticket_id>/<reference name>` (ITFlow 2.6.7
//! functions/files.php `saveTicketAttachments`).
//!
//! Never half-written. A file arrives into a temporary name in
//! `<uploads_dir>/tickets/` (a [`StagedFile`], removed when dropped); once
//! the create knows the ticket and has written its rows, it is moved to a
//! temporary name in the ticket's folder (a [`PlacedFile`], also removed
//! when dropped); only after COMMIT is it renamed to its final name. A
//! refused or failed request therefore leaves no file, and a crash leaves
//! only temporary names, which [`Uploads::recover`] settles at startup.

use std::io;
use std::path::{Path, PathBuf};

/// The prefix of every temporary name replyd writes.
pub const TEMP_PREFIX: &str = ".replyd-tmp-";

/// ITFlow's ticket attachment folder.
#[derive(Debug, Clone)]
pub struct Uploads {
    /// `<uploads_dir>/tickets`.
    tickets: PathBuf,
}

impl Uploads {
    /// `uploads_dir` is ITFlow's `uploads` folder.
    pub fn new(uploads_dir: &Path) -> Uploads {
        Uploads {
            tickets: uploads_dir.join("tickets"),
        }
    }

    /// A new temporary file to receive an upload, creating
    /// `uploads/tickets/` when missing (as ITFlow's `mkdirMissing` does).
    pub fn stage(&self) -> io::Result<(StagedFile, std::fs::File)> {
        std::fs::create_dir_all(&self.tickets)?;
        let name = format!("{TEMP_PREFIX}{}", random_name()?);
        let path = self.tickets.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((StagedFile { path }, file))
    }

    /// The stored copy of attachment `reference` on ticket `ticket_id`.
    pub fn path_of(&self, ticket_id: i64, reference: &str) -> Option<PathBuf> {
        let safe = !reference.is_empty()
            && !reference.starts_with('.')
            && !reference.contains(['/', '\\'])
            && !reference.contains("..");
        safe.then(|| self.tickets.join(ticket_id.to_string()).join(reference))
    }

    /// Move staged files into ticket `ticket_id`'s folder under temporary
    /// names (`references` in the same order); the folder is created when
    /// missing.
    pub fn place(
        &self,
        ticket_id: i64,
        staged: &[StagedFile],
        references: &[String],
    ) -> io::Result<Vec<PlacedFile>> {
        let dir = self.tickets.join(ticket_id.to_string());
        std::fs::create_dir_all(&dir)?;
        let mut placed = Vec::with_capacity(staged.len());
        for (file, reference) in staged.iter().zip(references) {
            let temp = dir.join(format!("{TEMP_PREFIX}{reference}"));
            std::fs::rename(&file.path, &temp)?;
            placed.push(PlacedFile {
                temp,
                last: dir.join(reference),
                done: false,
            });
        }
        Ok(placed)
    }

    /// The `(ticket_id, reference)` of every temporary file in a ticket's
    /// folder: what a crash between COMMIT and the final rename leaves.
    pub fn pending(&self) -> Vec<(i64, String)> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.tickets) else {
            return found;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(ticket_id) = name.parse::<i64>() else {
                continue;
            };
            for inner in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let file = inner.file_name().to_string_lossy().into_owned();
                if let Some(reference) = file.strip_prefix(TEMP_PREFIX) {
                    found.push((ticket_id, reference.to_owned()));
                }
            }
        }
        found
    }

    /// Startup: settle what a crash left. A temporary file in a ticket's
    /// folder whose name `committed` recognises (a `ticket_attachments`
    /// reference of that ticket) was committed: it gets its final name.
    /// Every other temporary file is removed. Returns (finished, removed).
    pub fn recover(&self, committed: impl Fn(i64, &str) -> bool) -> io::Result<(usize, usize)> {
        let (mut finished, mut removed) = (0, 0);
        let Ok(entries) = std::fs::read_dir(&self.tickets) else {
            return Ok((0, 0));
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) {
                std::fs::remove_file(&path)?;
                removed += 1;
                continue;
            }
            let Ok(ticket_id) = name.parse::<i64>() else {
                continue;
            };
            if !entry.file_type()?.is_dir() {
                continue;
            }
            for inner in std::fs::read_dir(&path)? {
                let inner = inner?;
                let file = inner.file_name().to_string_lossy().into_owned();
                let Some(reference) = file.strip_prefix(TEMP_PREFIX) else {
                    continue;
                };
                if committed(ticket_id, reference) {
                    std::fs::rename(inner.path(), path.join(reference))?;
                    finished += 1;
                } else {
                    std::fs::remove_file(inner.path())?;
                    removed += 1;
                }
            }
        }
        Ok((finished, removed))
    }

    /// Whether replyd can write here: creates and removes a temporary file.
    pub fn writable(&self) -> bool {
        self.stage().is_ok()
    }
}

/// 32 characters of ITFlow's `randomString` alphabet (`A-Za-z0-9_-`) from
/// 24 random bytes: a name no one can guess.
pub fn random_name() -> io::Result<String> {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// An upload received, under a temporary name; removed when dropped (after
/// [`Uploads::place`] moved it, there is nothing left to remove).
#[derive(Debug)]
pub struct StagedFile {
    path: PathBuf,
}

impl StagedFile {
    /// Where it is (its contents are a request's: an `Idempotency-Key`'s
    /// fingerprint reads them).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A file in its ticket's folder under a temporary name: renamed to its
/// final name by [`PlacedFile::finish`] after COMMIT, removed when dropped
/// before.
#[derive(Debug)]
pub struct PlacedFile {
    temp: PathBuf,
    last: PathBuf,
    done: bool,
}

impl PlacedFile {
    /// Leave the file under its temporary name, for the next start to
    /// settle ([`Uploads::recover`]): when a COMMIT's outcome is unknown.
    pub fn keep(mut self) {
        self.done = true;
    }

    pub fn finish(mut self) -> io::Result<()> {
        std::fs::rename(&self.temp, &self.last)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PlacedFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
