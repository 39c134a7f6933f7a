//! The population register over HTTP: the JSON API ([`api`]), its wire formats ([`wire`]) and
//! the console's register pages — search, person, correction, units and the audit log
//! ([`console`]). The rules (parsing, scope, auditing, corrections) are `eid_core::register`'s;
//! [`crate::access`] adapts them to async handlers. The modules are also reachable under their
//! old paths (`crate::api`, `crate::wire`, `crate::console::pages`).

pub mod api;
pub mod console;
pub mod wire;
