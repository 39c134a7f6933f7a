//! Black-box tests: the real server on port 0 over a temporary database, driven over HTTP with
//! ureq, and the real `eid` binary driven as a process. One test binary, one module per area.
//!
//! The database is SQLite in a temporary folder, or PostgreSQL in a fresh schema when
//! `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod api;
mod audit_ids;
mod campaign_api;
mod citizen_pages;
mod cli;
mod clock;
mod console;
mod console_accounts;
mod console_ops;
mod dev_mode;
mod durability;
mod hardening_consistency;
mod hardening_core;
mod hardening_ops;
mod hardening_web;
mod helpers;
mod linkage;
mod linkage_jobs;
mod linkage_registry;
mod oidc;
mod oidc_authlib;
mod oidc_browser;
mod oidc_conformance;
mod oidc_tokens;
mod ops;
mod ops_close;
mod ops_national;
mod ops_reported;
mod residence;
mod residence_api;
mod rp_registry;
mod slow_clients;
mod stay;
mod surge;
mod trust;
mod wallet_rp;
