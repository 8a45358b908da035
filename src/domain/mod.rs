//! Parsed request data: once a value is one of these types it is valid.

pub mod principal;
pub mod reply;
pub mod sla;

pub use principal::{ClientScope, Principal};
pub use reply::{NewReply, ReplyType, StatusChange, TimeWorked};
