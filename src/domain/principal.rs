//! Who is calling, and which clients' tickets they may see.

/// The clients whose tickets a caller may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client: a first-generation key with `api_key_client_id = 0`,
    /// an admin, or a user without client lists.
    AllClients,
    /// Only tickets whose `ticket_client_id` is this client (a
    /// first-generation client key).
    Client(i64),
    /// A user's client lists (ITFlow functions/auth.php `clientScopeSql`):
    /// a deny list always wins; a non-empty allow list limits the user to
    /// those clients, and tickets with client 0 stay visible.
    Lists { allow: Vec<i64>, deny: Vec<i64> },
}

impl ClientScope {
    /// Build a user's scope from their `user_client_permissions` rows.
    pub fn from_lists(allow: Vec<i64>, deny: Vec<i64>) -> ClientScope {
        if allow.is_empty() && deny.is_empty() {
            ClientScope::AllClients
        } else {
            ClientScope::Lists { allow, deny }
        }
    }

    /// The extra client a `client_id` parameter > 0 narrows a read to. A
    /// first-generation client key ignores it (ITFlow's
    /// require_get_method.php reads it only for keys of client 0).
    pub fn narrowing(&self, requested_client_id: i64) -> Option<i64> {
        match self {
            ClientScope::Client(_) => None,
            _ if requested_client_id > 0 => Some(requested_client_id),
            _ => None,
        }
    }

    /// Whether a ticket of `ticket_client_id` is inside the scope.
    pub fn allows(&self, ticket_client_id: i64) -> bool {
        match self {
            ClientScope::AllClients => true,
            ClientScope::Client(c) => *c == ticket_client_id,
            ClientScope::Lists { allow, deny } => {
                !deny.contains(&ticket_client_id)
                    && (allow.is_empty()
                        || ticket_client_id == 0
                        || allow.contains(&ticket_client_id))
            }
        }
    }

    /// ITFlow's `apiUserCanAccessClient()` for the client a write names:
    /// like [`allows`](Self::allows), except that an allow list does not
    /// include client 0.
    pub fn may_write_for(&self, client_id: i64) -> bool {
        match self {
            ClientScope::Lists { allow, deny } => {
                !deny.contains(&client_id) && (allow.is_empty() || allow.contains(&client_id))
            }
            other => other.allows(client_id),
        }
    }

    /// A SQL condition on `column` (a fixed column name) with its
    /// parameters, or None when every client is in scope.
    pub fn sql_condition(&self, column: &str) -> Option<(String, Vec<i64>)> {
        match self {
            ClientScope::AllClients => None,
            ClientScope::Client(c) => Some((format!("{column} = ?"), vec![*c])),
            ClientScope::Lists { allow, deny } => {
                let mut parts = Vec::new();
                let mut params = Vec::new();
                if !allow.is_empty() {
                    parts.push(format!("{column} IN (0{})", ", ?".repeat(allow.len())));
                    params.extend(allow);
                }
                if !deny.is_empty() {
                    let marks = vec!["?"; deny.len()].join(", ");
                    parts.push(format!("{column} NOT IN ({marks})"));
                    params.extend(deny);
                }
                Some((parts.join(" AND "), params))
            }
        }
    }
}

/// The user a second-generation key acts as (ITFlow
/// api/v1/enforce_api_rbac.php), already checked to be an active agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUser {
    pub user_id: i64,
    pub name: String,
    pub is_admin: bool,
    /// `module_support` permission level: 0 none, 1 read, 2 modify, 3 full.
    pub support_level: i64,
    pub scope: ClientScope,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A first-generation key (`api_key_client_id`); it belongs to no user.
    ClientKey {
        key_id: i64,
        key_name: String,
        scope: ClientScope,
    },
    /// A second-generation key (`api_key_user_id`, ITFlow 2.4.7+): it acts
    /// as its user, with the user's role and client lists.
    UserKey {
        key_id: i64,
        key_name: String,
        user: KeyUser,
    },
}

impl Principal {
    pub fn scope(&self) -> &ClientScope {
        match self {
            Principal::ClientKey { scope, .. } => scope,
            Principal::UserKey { user, .. } => &user.scope,
        }
    }

    /// `api_keys.api_key_id`: whose `Idempotency-Key`s a request's are.
    pub fn key_id(&self) -> i64 {
        match self {
            Principal::ClientKey { key_id, .. } | Principal::UserKey { key_id, .. } => *key_id,
        }
    }

    pub fn key_name(&self) -> &str {
        match self {
            Principal::ClientKey { key_name, .. } | Principal::UserKey { key_name, .. } => key_name,
        }
    }

    /// The key's user, for user-tied keys.
    pub fn user(&self) -> Option<&KeyUser> {
        match self {
            Principal::ClientKey { .. } => None,
            Principal::UserKey { user, .. } => Some(user),
        }
    }

    /// Whether the caller may write a reply as another agent
    /// (`author_user_id`): an admin's user-tied key, or a first-generation
    /// key for every client (`api_key_client_id = 0`).
    pub fn may_write_as_others(&self) -> bool {
        match self {
            Principal::ClientKey { scope, .. } => *scope == ClientScope::AllClients,
            Principal::UserKey { user, .. } => user.is_admin,
        }
    }

    /// The `module_support` level the caller holds (3 for admins and for
    /// first-generation keys, which ITFlow never restricted by role).
    pub fn support_level(&self) -> i64 {
        match self {
            Principal::ClientKey { .. } => 3,
            Principal::UserKey { user, .. } if user.is_admin => 3,
            Principal::UserKey { user, .. } => user.support_level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientScope;

    #[test]
    fn narrowing_only_applies_beyond_client_keys() {
        assert_eq!(ClientScope::AllClients.narrowing(0), None);
        assert_eq!(ClientScope::AllClients.narrowing(-3), None);
        assert_eq!(ClientScope::AllClients.narrowing(2), Some(2));
        assert_eq!(ClientScope::Client(1).narrowing(2), None);
        assert!(ClientScope::Client(1).allows(1));
        assert!(!ClientScope::Client(1).allows(2));
        assert!(ClientScope::AllClients.allows(7));
    }

    #[test]
    fn lists_follow_itflow_client_scope() {
        let allow = ClientScope::from_lists(vec![1, 3], vec![]);
        assert!(allow.allows(1) && allow.allows(0) && !allow.allows(2));
        assert!(allow.may_write_for(1) && !allow.may_write_for(0));
        let deny = ClientScope::from_lists(vec![], vec![2]);
        assert!(deny.allows(1) && deny.allows(0) && !deny.allows(2));
        let both = ClientScope::from_lists(vec![1, 2], vec![2]);
        assert!(both.allows(1) && !both.allows(2));
        assert_eq!(
            ClientScope::from_lists(vec![], vec![]),
            ClientScope::AllClients
        );
        assert_eq!(
            both.sql_condition("t.c"),
            Some((
                "t.c IN (0, ?, ?) AND t.c NOT IN (?)".to_string(),
                vec![1, 2, 2]
            ))
        );
    }
}
