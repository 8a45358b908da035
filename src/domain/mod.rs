//! Parsed request data: once a value is one of these types it is valid.

pub mod attachment;
pub mod audit;
pub mod flavour;
pub mod markdown;
pub mod plan;
pub mod plan_customer;
pub mod plan_itflow;
pub mod plan_replies;
pub mod principal;
pub mod reply;
pub mod reply_email;
pub mod sla;
pub mod sla_clock;
pub mod snapshot;
pub mod status;
pub mod view;

pub use audit::RequestMeta;
pub use flavour::Flavour;
pub use principal::{ClientScope, Principal};
pub use reply::{
    Author, Created, NewReply, PersonRef, ReplyType, StatusChange, TicketNumber, TicketRef,
    TimeWorked,
};
