//! The parts of strata that do not need PostgreSQL: distance kernels, the
//! text forms and arithmetic of the vector types, and the error type the
//! extension maps to SQLSTATEs. Everything here is testable with a plain
//! `cargo test -p strata-core`; the `strata` crate is pgrx glue on top.

pub mod distance;
pub mod error;
pub mod int8;
pub mod options;
pub mod range;
pub mod scan_order;
pub mod sparse;
pub mod subscript;
pub mod vector;
pub mod wire;

pub use error::{SqlState, StrataError};
