//! The index access method `vectors`: PostgreSQL's index AM callbacks over
//! the pgrx-free storage layer (`strata-index`) and HNSW engine
//! (`strata-hnsw`).
//!
//! An index is a log-structured merge of segments. INSERT appends to the
//! writing segment with no graph work; a full writing segment becomes a
//! growing segment, which the background merge folds into a sealed HNSW
//! segment; CREATE INDEX builds sealed segments directly. A scan streams
//! every sealed segment (approximately increasing distance) and the logs
//! (exact), merged by distance, and can be pulled until every row has been
//! returned, so filtered `ORDER BY ... LIMIT k` queries get k rows.
//!
//! One file per callback (`build`, `insert`, `scan`, `vacuum`, `cost`,
//! `options`, `handler`); pages go through the RAII guards of `buffer`;
//! `pages` reads the metapage and sealed segments; `standby` reports
//! corruption (and tells it from replay's page reuse on a hot standby);
//! `segment` and `optimize` build and merge segments, `worker` runs merges
//! in the background.

mod buffer;
mod build;
pub mod codes;
mod cost;
mod handler;
mod insert;
mod opclass;
pub mod optimize;
pub mod options;
mod pages;
pub mod scan;
mod segment;
mod sql;
mod standby;
mod vacuum;
mod values;
mod worker;

/// Runs `$body` with `$S` bound to the engine space of an (element, metric)
/// pair; the metapage and opclass only ever produce valid pairs.
macro_rules! with_space {
    ($kind:expr, $metric:expr, |$S:ident| $body:expr) => {
        strata_hnsw::with_space!($kind, $metric, $S => $body).expect("no index space for this element type and metric")
    };
}
pub(crate) use with_space;
