//! pgrx-free parts of strata's BYOV ("Bring Your Own Vectors") functions.
//!
//! - [`filter`]: RushDB's `where` JSON compiled into a SQL condition.
//! - [`items`]: the items of `upsert_vectors(index_id, items jsonb)` parsed into record ids and
//!   vectors.

pub mod filter;
pub mod items;
