//! Sector data against the register (issue 13): social insurance, health insurance and civil
//! registry rows matched to persons, each decision explained.
//!
//! `matcher` holds the rules (comparison levels, blocking, the Fellegi–Sunter model and its EM)
//! and does no IO; the rest of the slice reads files, stores results and scopes them.

pub mod decide;
pub mod dedupe;
pub mod files;
pub mod job;
pub mod matcher;
pub mod proposals;
pub mod quality;
pub mod service;

pub use matcher::{Decision, Explanation, Linker, Method, Outcome, Thresholds};
