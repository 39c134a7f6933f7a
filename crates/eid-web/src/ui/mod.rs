//! Shared console UI pieces.

pub mod xlsx;
