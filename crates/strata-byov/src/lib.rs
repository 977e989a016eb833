//! pgrx-free parts of strata's BYOV ("Bring Your Own Vectors") functions.
//!
//! - [`filter`]: RushDB's `where` JSON compiled into a SQL condition.
//! - [`items`]: the items of `upsert_vectors(index_id, items jsonb)` parsed into record ids and
//!   vectors.
//! - [`entries`]: the vector entries of `insert_records(label, records, vectors)`, every
//!   record's at once.

pub mod entries;
pub mod filter;
pub mod items;
