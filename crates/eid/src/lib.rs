//! The eid binary crate: the command line (`cli`) over the other crates.
//!
//! It re-exports the server (`eid-web`) and the development tools (`eid-devtools`) under their
//! old paths (`eid::config`, `eid::client`, …), so the black-box tests and benches name one crate.

pub mod cli;
mod redact;

pub use eid_devtools::{client, demo};
pub use eid_web::*;
