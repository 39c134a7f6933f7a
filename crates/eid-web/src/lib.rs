//! eid over HTTP: configuration, the axum server (JSON API, metrics, OpenAPI), the
//! server-rendered web console, and the adapters for the SMS gateway and the face verifier.
//!
//! This crate owns every wire format: JSON and HTML views are written here and converted by hand
//! from the domain types of `eid-domain`. It does no SQL: storage goes through `eid-core`
//! (and the `Store` it re-exports), always called from `tokio::task::spawn_blocking` or, for
//! local point reads, inline.

#![recursion_limit = "512"]

pub mod access;
pub mod accounts;
pub mod accounts_api;
pub mod admission;
pub mod auth;
pub mod citizen;
pub mod config;
pub mod console;
pub mod error;
pub mod hashpool;
pub mod json;
pub mod limits;
pub mod linkage;
pub mod metrics;
pub mod oidc;
pub mod oidc_admin;
pub mod openapi;
pub mod ops;
pub mod ops_api;
pub mod outbound;
mod redact;
pub mod register;
pub mod residence;
pub mod sms;
pub mod startup;
pub mod state;
pub mod stay;
pub mod testkit;
pub mod trust;
pub mod ui;
pub mod verifier;
pub mod wallet;
/// The XLSX writer, now in [`ui::xlsx`]; kept here for old paths.
pub use ui::xlsx;

// The register's modules under their old paths.
pub use register::{api, wire};

pub use config::Config;
pub use startup::Application;
