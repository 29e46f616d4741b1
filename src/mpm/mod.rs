//! mpm
