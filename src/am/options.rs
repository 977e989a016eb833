//! Index options: the reloptions `m` and `ef_construction`, and the
//! pgvecto.rs-style `options` string (parsed by `strata_core::options`).
//! Keys given in the `options` string take precedence over the reloptions;
//! keys valid for pgvecto.rs but without effect here are reported as NOTICEs.

use pgrx::pg_sys;
use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, Ordering};
use crate::error::Report;
use strata_core::options::{self as core_options, EF_CONSTRUCTION_RANGE, M_RANGE};
use strata_core::SqlState;

pub const DEFAULT_M: i32 = 16;
pub const DEFAULT_EF_CONSTRUCTION: i32 = 64;
pub const DEFAULT_MAX_WRITING_SIZE: i32 = 10_000;

static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

#[repr(C)]
struct RelOptions {
    vl_len_: i32,
    m: i32,
    ef_construction: i32,
    max_writing_size: i32,
    /// Offset of the `options` string from the start of this struct (0: unset).
    options_offset: i32,
}

pub struct EffectiveOptions {
    pub m: i64,
    pub ef_construction: i64,
    pub max_writing_size: i64,
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn validate_options_string(value: *const std::ffi::c_char) {
    if value.is_null() {
        return;
    }
    let text = unsafe { CStr::from_ptr(value) }.to_string_lossy();
    match core_options::parse(&text) {
        Err(e) => Report::new(SqlState::InvalidParameterValue, e.to_string())
            .hint("strata reads pgvecto.rs's [indexing.hnsw] (m, ef_construction) and the older [algorithm.hnsw] format.")
            .raise(),
        // PostgreSQL validates reloptions at CREATE INDEX and ALTER INDEX ... SET only, so
        // each accepted key without effect is reported once, where the user wrote it.
        Ok(parsed) => {
            for ignored in parsed.ignored {
                Report::new(SqlState::SuccessfulCompletion, format!("index option {} is valid but ignored", ignored.key))
                    .detail(format!("In strata, {}.", ignored.reason))
                    .notice();
            }
        }
    }
}

/// Registers the reloptions; called from `_PG_init`.
pub fn register() {
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind, Ordering::Relaxed);
        pg_sys::add_int_reloption(
            kind,
            c"m".as_ptr(),
            c"Neighbours per HNSW node".as_ptr(),
            DEFAULT_M,
            M_RANGE.0 as i32,
            M_RANGE.1 as i32,
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
        pg_sys::add_int_reloption(
            kind,
            c"ef_construction".as_ptr(),
            c"Search width while building the HNSW graph".as_ptr(),
            DEFAULT_EF_CONSTRUCTION,
            EF_CONSTRUCTION_RANGE.0 as i32,
            EF_CONSTRUCTION_RANGE.1 as i32,
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
        pg_sys::add_int_reloption(
            kind,
            c"max_writing_size".as_ptr(),
            c"Rows after which the writing segment is handed to the background merge".as_ptr(),
            DEFAULT_MAX_WRITING_SIZE,
            1,
            1_000_000,
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
        pg_sys::add_string_reloption(
            kind,
            c"options".as_ptr(),
            c"Index options in the pgvecto.rs format".as_ptr(),
            std::ptr::null(),
            Some(validate_options_string),
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amoptions(reloptions: pg_sys::Datum, validate: bool) -> *mut pg_sys::bytea {
    let table = [
        pg_sys::relopt_parse_elt {
            optname: c"m".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
            offset: std::mem::offset_of!(RelOptions, m) as i32,
        },
        pg_sys::relopt_parse_elt {
            optname: c"ef_construction".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
            offset: std::mem::offset_of!(RelOptions, ef_construction) as i32,
        },
        pg_sys::relopt_parse_elt {
            optname: c"max_writing_size".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
            offset: std::mem::offset_of!(RelOptions, max_writing_size) as i32,
        },
        pg_sys::relopt_parse_elt {
            optname: c"options".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_STRING,
            offset: std::mem::offset_of!(RelOptions, options_offset) as i32,
        },
    ];
    unsafe {
        pg_sys::build_reloptions(
            reloptions,
            validate,
            RELOPT_KIND.load(Ordering::Relaxed),
            std::mem::size_of::<RelOptions>(),
            table.as_ptr(),
            table.len() as i32,
        ) as *mut pg_sys::bytea
    }
}

/// The options of `index`, with the `options` string's keys winning.
pub unsafe fn index_options(index: pg_sys::Relation) -> EffectiveOptions {
    let mut out = EffectiveOptions {
        m: DEFAULT_M as i64,
        ef_construction: DEFAULT_EF_CONSTRUCTION as i64,
        max_writing_size: DEFAULT_MAX_WRITING_SIZE as i64,
    };
    unsafe {
        let raw = (*index).rd_options as *const RelOptions;
        if raw.is_null() {
            return out;
        }
        out.m = (*raw).m as i64;
        out.ef_construction = (*raw).ef_construction as i64;
        out.max_writing_size = (*raw).max_writing_size as i64;
        if (*raw).options_offset != 0 {
            let text = CStr::from_ptr((raw as *const std::ffi::c_char).add((*raw).options_offset as usize));
            let parsed = core_options::parse(&text.to_string_lossy()).unwrap_or_default();
            if let Some(m) = parsed.m {
                out.m = m;
            }
            if let Some(ef) = parsed.ef_construction {
                out.ef_construction = ef;
            }
        }
    }
    out
}
