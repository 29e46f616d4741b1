//! modules
pub mod log_config;
pub mod metrics;
pub mod status;
