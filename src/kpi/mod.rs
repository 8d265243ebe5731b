//! Placeholder until the KPI core lands: the channel and outcome vocabularies.
mod facts;
pub use facts::{Channel, Outcome};
