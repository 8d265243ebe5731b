//! Sampling plans: which contacts get evaluated. A plan draws N contacts per agent and week,
//! spread over the channels, adds contacts that targeted rules pick out (low CSAT, a customer
//! who says the relationship was not kept, repeat contacts, long handle or wait times, bot
//! hand-overs), and assigns them to its evaluators with a due date (docs/sampling.md).

pub mod assignments;
pub mod draw;
pub mod pages;
pub mod plan;
pub mod routes;
pub mod store;
