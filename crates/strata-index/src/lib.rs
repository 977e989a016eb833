//! The storage layer of strata's `vectors` index access method, free of
//! PostgreSQL: what its pages hold and the decisions made over them. The
//! access method (`src/am`) supplies buffers, locks and WAL; everything here
//! works on byte slices and on the [`Relation`] trait, so it is tested with
//! plain `cargo test` over [`MemRelation`].
//!
//! An index is a log-structured merge of segments:
//! - block 0, the metapage ([`meta`]): parameters and the segment directory;
//! - the writing segment and growing segments: chains of log pages holding
//!   an append-only stream of entries ([`log`]);
//! - sealed segments: HNSW graphs in `strata_hnsw::page`'s format, in one
//!   run of blocks or spread over several behind an extent-map page
//!   ([`extents`]);
//! - pages of retired segments, reused once no snapshot can read them
//!   ([`free`]).
//!
//! [`policy`] decides what a merge takes, and [`stream`] merges the
//! segments' candidate streams into one scan.

pub mod extents;
pub mod free;
pub mod log;
pub mod meta;
pub mod page;
pub mod policy;
pub mod relation;
pub mod space;
pub mod stream;
pub mod view;

pub use meta::{FreeRange, LogRange, Meta, Segment};
pub use relation::{MemRelation, Relation};

/// Pages that are not what this version wrote: the message says what was
/// found. The access method reports it as `index_corrupted` (XX002).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption(pub String);

impl Corruption {
    pub fn new(what: impl Into<String>) -> Corruption {
        Corruption(what.into())
    }
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corruption {}
