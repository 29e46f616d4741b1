//! mpmd: an Apache-httpd-compatible web server daemon.
//!
//! The folders are the architecture (see docs/architecture.md): `conf` reads the httpd.conf
//! language, `config` gives it meaning, `supervisor` is the parent process, `mpm` holds the
//! three engines, `conn` drives one connection, `proto` speaks HTTP, `modules` answer requests.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod conf;
pub mod config;
pub mod conn;
pub mod ctl;
pub mod enmod;
pub mod log;
pub mod modules;
pub mod mpm;
pub mod proto;
pub mod scoreboard;
pub mod supervisor;
pub mod tls;
