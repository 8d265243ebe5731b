//! Domain types: values that cannot hold invalid data once parsed.

mod email;
mod ids;
mod locale;
mod names;
mod password;
mod role;
mod time;

pub use email::Email;
pub use ids::{GrantId, PersonId, ProgramId, TeamId, TokenId};
pub use locale::Locale;
pub use names::{PersonName, ProgramCode, ProgramName, TeamName, TimeZoneName, time_zone_names};
pub use password::NewPassword;
pub use role::{Role, ScopeKind};
pub use time::{Timestamp, format_utc, now};

/// A value failed to parse: which field and why, in words a user understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    pub field: &'static str,
    /// Message key for translation (`invalid.<reason>`).
    pub reason: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            reason,
            message: message.into(),
        }
    }
}
