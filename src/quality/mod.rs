//! Quality monitoring: the organisation's customer principles and the KPIs quality serves,
//! evaluation forms and their versions, the shipped templates, and the scoring rule.

pub mod catalogue;
pub mod coaching;
pub mod coaching_pages;
pub mod evaluations;
pub mod export;
pub mod form;
pub mod forms;
pub mod impact;
pub mod notify;
pub mod pages;
pub mod report;
pub mod rollup;
pub mod routes;
pub mod sampling;
pub mod scale;
pub mod scoring;
pub mod templates;
pub mod workflow;
