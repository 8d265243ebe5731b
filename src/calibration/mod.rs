//! Calibration: evaluators, team leads and (optionally) the agent score the same contacts blind
//! on one form version; the facilitator reveals the scores, the session agrees reference answers,
//! and the agreement statistics show where the form or the evaluators need work
//! (docs/calibration.md). Calibration scores never count toward anyone's quality figures.

pub mod gate;
pub mod pages;
pub mod results;
pub mod routes;
pub mod session;
pub mod severity;
pub mod trends;
