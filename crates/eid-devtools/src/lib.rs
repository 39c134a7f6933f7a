//! Development tools: `eid client` (the citizen app and an intake device, played over HTTP) and
//! the demo province's campaign history. The server never links them.

pub mod client;
pub mod demo;
mod redact;
