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
//! - [`page_v2`]: page format 2, whose adjacency lists carry codes of the
//!   neighbours' vectors ([`quant`]), so one page access estimates all of a
//!   node's neighbours; [`page_v2::PagedGraphV2`] searches it (top-k and
//!   streaming, reranked with exact distances). [`page_v2::format_version`]
//!   tells a segment's format from its meta page.
//!
//! Everything is generic over a [`Space`] (element type and metric, see
//! [`space`]). Node ids are dense `u32` per graph; every node carries an
//! opaque `u64` payload for the access method's heap TID.
//!
//! # How the access method uses it
//!
//! ```
//! use strata_hnsw::page::{set_deleted, to_pages, PagedGraph};
//! use strata_hnsw::{merge, CosineF32, GraphView, Hnsw, Params, StreamingSearch};
//!
//! // CREATE INDEX: build in memory (payload = heap TID), write pages.
//! let dim = 4;
//! let vectors: Vec<f32> = (0..400).map(|i| ((i * 7919) % 101) as f32).collect();
//! let tids: Vec<u64> = (1000..1100).collect();
//! let g = Hnsw::<CosineF32>::build(&Params::default(), dim, &vectors, Some(&tids));
//! let mut pages = to_pages(&g); // or write_pages(&g, |no, payload| ...)
//!
//! // Scan: search straight from the pages, pulling until enough rows pass.
//! let seg = PagedGraph::<_, CosineF32>::open(&pages[..]).unwrap();
//! let query = [1.0, 2.0, 3.0, 4.0];
//! let mut stream = StreamingSearch::<_, CosineF32>::new(&seg, &query, 40);
//! let first = stream.next().unwrap();
//! let tid = stream.graph().payload(first.id);
//! assert!((1000..1100).contains(&tid));
//!
//! // DELETE/VACUUM: flip the node's flag in its page.
//! let (page, offset) = seg.layout().node_location(first.id);
//! drop(stream);
//! set_deleted(pages[page as usize].bytes_mut(), offset, true);
//!
//! // Merge: old segment minus deleted nodes plus new vectors, new pages.
//! let seg = PagedGraph::<_, CosineF32>::open(&pages[..]).unwrap();
//! let merged = merge::<_, CosineF32>(&seg, &Params::default(), &[0.5; 8], Some(&[7, 8]));
//! assert_eq!(merged.len(), 101);
//! ```

pub mod connect;
pub mod graph;
pub mod merge;
pub mod page;
pub mod page_v2;
pub mod pairs;
pub mod quant;
pub mod search;
pub mod slab;
pub mod space;
pub mod stream;

pub use connect::ConnectStats;
pub use graph::{BuildError, Hnsw, Params};
pub use slab::{Slab, Spill};
pub use merge::{merge, merge_spilled_interruptible, merge_with_map};
pub use search::{GraphView, Neighbour, SearchScratch};
pub use space::{
    CosineBits, CosineF16, CosineF32, DotBits, DotF16, DotF32, Element, ElementKind, HammingBits,
    JaccardBits, Metric, Space, L2F16, L2F32, L2I8, DotI8, CosineI8,
};
pub use stream::{SegmentHit, SegmentedSearch, StreamingSearch};
