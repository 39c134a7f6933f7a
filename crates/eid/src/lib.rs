//! The eid binary crate: configuration, the command line, the HTTP server (JSON API, metrics,
//! OpenAPI) and the server-rendered web console.
//!
//! This crate owns every wire format: JSON and HTML views are written here and converted by hand
//! from the domain types of `eid-domain`. It does no SQL: storage goes through `eid-core`'s
//! synchronous `Store`, always called from `tokio::task::spawn_blocking`.

#![recursion_limit = "512"]

pub mod access;
pub mod accounts_api;
pub mod api;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod demo;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod ops_api;
pub mod outbound;
pub mod sms;
pub mod startup;
pub mod state;
pub mod verifier;
pub mod wire;
pub mod xlsx;

pub use config::Config;
pub use startup::Application;
