//! pgrx-free parts of strata's BYOV ("Bring Your Own Vectors") functions.
//!
//! - [`filter`]: RushDB's `where` JSON compiled into a SQL condition.

pub mod filter;
