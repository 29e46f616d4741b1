//! Read-time expansion.
