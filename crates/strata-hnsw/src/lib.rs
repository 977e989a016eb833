//! The HNSW engine of strata, free of PostgreSQL.
//!
//! - [`Hnsw::build`]: bulk construction (CREATE INDEX), on all cores given.
//! - [`Hnsw::search`] / [`search::search`]: top-k search with `ef_search`.
//! - [`stream::StreamingSearch`]: neighbours in approximately increasing
//!   distance, pullable until the graph is exhausted (filtered scans).
//! - [`merge::merge`]: new graph = old graph (any [`GraphView`]) minus its
//!   deleted nodes plus new vectors, reusing and repairing the old edges.
//! - [`Hnsw::mark_deleted`] and [`page::set_deleted`]: deletes that searches
//!   traverse but never return.
//! - [`page`]: the 8 KB page format and [`page::PagedGraph`], a `GraphView`
//!   over pages the access method reads through its buffer manager.
//!
//! Everything is generic over a [`Space`] (element type and metric, see
//! [`space`]). Node ids are dense `u32` per graph; every node carries an
//! opaque `u64` payload for the access method's heap TID.

pub mod graph;
pub mod merge;
pub mod page;
pub mod search;
pub mod space;
pub mod stream;

pub use graph::{Hnsw, Params};
pub use merge::{merge, merge_with_map};
pub use search::{GraphView, Neighbour, SearchScratch};
pub use space::{
    CosineBits, CosineF16, CosineF32, DotBits, DotF16, DotF32, Element, ElementKind, HammingBits, JaccardBits,
    L2F16, L2F32, Metric, Space,
};
pub use stream::StreamingSearch;
