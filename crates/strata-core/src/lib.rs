//! The parts of strata that do not need PostgreSQL: distance kernels and the
//! in-memory formats of the vector types. Everything here is testable with a
//! plain `cargo test -p strata-core`; the `strata` crate is pgrx glue on top.

pub mod distance;
