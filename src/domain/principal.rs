//! Who is calling, and which clients' tickets they may see.

/// The clients whose tickets a caller may read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client (a first-generation key with `api_key_client_id = 0`).
    AllClients,
    /// Only tickets whose `ticket_client_id` is this client.
    Client(i64),
}

impl ClientScope {
    /// A key for every client may narrow itself to one client with a
    /// `client_id` parameter > 0 (ITFlow's require_get_method.php); a
    /// client-scoped key stays as it is.
    pub fn narrowed_to(self, requested_client_id: i64) -> ClientScope {
        match self {
            ClientScope::AllClients if requested_client_id > 0 => {
                ClientScope::Client(requested_client_id)
            }
            other => other,
        }
    }

    /// Whether a ticket of `ticket_client_id` is inside the scope.
    pub fn allows(self, ticket_client_id: i64) -> bool {
        match self {
            ClientScope::AllClients => true,
            ClientScope::Client(c) => c == ticket_client_id,
        }
    }

    /// The client to filter on, if any.
    pub fn client_id(self) -> Option<i64> {
        match self {
            ClientScope::AllClients => None,
            ClientScope::Client(c) => Some(c),
        }
    }
}

/// An authenticated caller. First-generation keys are the one kind today;
/// user-tied keys (ITFlow 2.4.7+) join as a second variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A key from `api_keys` with `api_key_client_id`; it belongs to no user.
    ClientKey {
        key_id: i64,
        key_name: String,
        scope: ClientScope,
    },
}

impl Principal {
    pub fn scope(&self) -> ClientScope {
        match self {
            Principal::ClientKey { scope, .. } => *scope,
        }
    }

    pub fn key_name(&self) -> &str {
        match self {
            Principal::ClientKey { key_name, .. } => key_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientScope;

    #[test]
    fn narrowing_only_applies_to_keys_for_every_client() {
        assert_eq!(
            ClientScope::AllClients.narrowed_to(0),
            ClientScope::AllClients
        );
        assert_eq!(
            ClientScope::AllClients.narrowed_to(-3),
            ClientScope::AllClients
        );
        assert_eq!(
            ClientScope::AllClients.narrowed_to(2),
            ClientScope::Client(2)
        );
        assert_eq!(
            ClientScope::Client(1).narrowed_to(2),
            ClientScope::Client(1)
        );
        assert!(ClientScope::Client(1).allows(1));
        assert!(!ClientScope::Client(1).allows(2));
        assert!(ClientScope::AllClients.allows(7));
    }
}
