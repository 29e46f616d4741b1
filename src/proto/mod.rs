//! The wire protocols. `h1` is sans-IO: bytes in, parsed heads and decoded bodies out, and
//! helpers that format response heads into a caller-owned buffer.

pub mod h1;
pub mod h2;
pub mod proxy;
