//! Who is asking: passwords, sign-in throttling, sessions, API tokens, CSRF, and the
//! principal resolved once per request.

pub mod access;
pub mod middleware;
pub mod passwords;
pub mod routes;
pub mod secret;
pub mod sessions;
pub mod signin;
pub mod throttle;
pub mod tokens;

pub use access::{Capability, GrantView, Principal, ProgramScope};
