//! Kalibra: quality and service management for customer-service organisations.
//!
//! Layers: `domain` (pure types and rules), `store` (one `Db` over SQLite or PostgreSQL),
//! one module per capability (`auth`, `people`, `programs`, `audit`) owning its SQL and routes,
//! and the shells around them: `web` (pages), `api` (JSON), `cli`.

pub mod agreement;
pub mod api;
pub mod audit;
pub mod auth;
pub mod calibration;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod domain;
pub mod i18n;
pub mod kpi;
pub mod memory;
pub mod people;
pub mod programs;
pub mod quality;
pub mod startup;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod web;
