//! The account API under its old path: everything is in [`crate::accounts`].

pub use crate::accounts::*;
