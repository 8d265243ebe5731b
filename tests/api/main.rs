//! HTTP tests against the real server, on SQLite and PostgreSQL.

mod helpers;

mod acceptance_bank;
mod access_matrix;
mod admin;
mod agreement;
mod api;
mod auth;
mod browser;
mod calibration;
mod cli;
mod demo;
mod import;
mod kpi;
mod quality;
mod rollups;
mod sampling;
mod shell;
mod two_servers;
mod upload;
