//! CREATE INDEX (`ambuild`) and the init fork of an unlogged index
//! (`ambuildempty`).
//!
//! The build collects the table's vectors and turns them into sealed
//! segments, as many as `maintenance_work_mem` requires: each holds what
//! fits in it. The metapage is written last, and the whole relation is
//! WAL-logged at the end (one full-page record per page).

use super::buffer::{is_permanent, nblocks, relation_name, Buffer};
use super::opclass::new_meta;
use super::pages::write_new_metapage;
use super::segment;
use super::values::{index_vector_bytes, tid_to_u64, wrong_dimensions};
use crate::error::Report;
use pgrx::pg_sys;
use pgrx::PgBox;
use strata_core::SqlState;
use strata_hnsw::Params;
use strata_index::meta::{META_BLOCK, MAX_SEALED};
use strata_index::page::{content_mut, PageKind};
use strata_index::Meta;

pub const PHASE_LOADING: i64 = 1;
pub const PHASE_BUILDING: i64 = 2;
pub const PHASE_WRITING: i64 = 3;

fn progress(param: u32, value: i64) {
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}

/// Engine parameters for building or merging this index's segments.
pub fn build_params(meta: &Meta) -> Params {
    Params {
        m: meta.m as usize,
        ef_construction: meta.ef_construction as usize,
        // All cores: graph building is the slow part of CREATE INDEX and of
        // merges (the engine's threads never call into PostgreSQL).
        threads: 0,
        ..Params::default()
    }
}

/// Bytes a vector costs while building: the vector, its TID, and its graph
/// entry (2m layer-0 links plus upper layers and bookkeeping).
pub fn build_bytes_per_vector(vector_bytes: usize, m: usize) -> usize {
    vector_bytes + 8 + 4 * 2 * m + 4 * m / 2 + 32
}

struct BuildState {
    index: pg_sys::Relation,
    meta: Meta,
    params: Params,
    vector_bytes: usize,
    data: Vec<u8>,
    tids: Vec<u64>,
    /// Vectors per segment: what fits in maintenance_work_mem.
    per_segment: usize,
    done: usize,
}

impl BuildState {
    /// Turns the collected vectors into a sealed segment.
    fn flush(&mut self) {
        if self.tids.is_empty() {
            return;
        }
        if self.meta.sealed.len() >= MAX_SEALED {
            let mb = maintenance_work_mem_mb();
            Report::new(SqlState::ProgramLimitExceeded, format!("index \"{}\" needs more than {MAX_SEALED} segments", relation_name(self.index)))
                .detail(format!("maintenance_work_mem ({mb} MB) holds {} vectors per segment.", self.per_segment))
                .hint(format!(
                    "Raise maintenance_work_mem (each MB holds about {} vectors of this index) and create the index again.",
                    (1 << 20) / build_bytes_per_vector(self.vector_bytes, self.meta.m as usize)
                ))
                .raise();
        }
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_BUILDING);
        // tuples_done counts rows in finished segments plus those the
        // engine has inserted into this one's graph so far.
        let done = self.done as i64;
        let seg = segment::build_segment(
            self.index,
            &self.meta,
            &self.params,
            &self.data,
            &self.tids,
            &mut segment::Placement::AppendUnlogged,
            &mut |inserted| progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, done + inserted as i64),
        );
        self.done += self.tids.len();
        self.meta.sealed.push(seg);
        self.data.clear();
        self.tids.clear();
        progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, self.done as i64);
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOADING);
    }
}

fn maintenance_work_mem_mb() -> usize {
    unsafe { pg_sys::maintenance_work_mem as usize / 1024 }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn build_callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _alive: bool,
    state: *mut std::ffi::c_void,
) {
    // SAFETY: the table scan passes one value, its null flag, the row's TID
    // and the state ambuild gave it.
    let (state, value, isnull, tid) = unsafe { (&mut *(state as *mut BuildState), *values, *isnull, tid_to_u64(&*tid)) };
    if isnull {
        return;
    }
    let bytes = index_vector_bytes(&state.meta, value, wrong_dimensions);
    state.data.extend_from_slice(&bytes[..state.vector_bytes]);
    state.tids.push(tid);
    if state.tids.len() % 1024 == 0 {
        pg_sys::check_for_interrupts!();
    }
    if state.tids.len() >= state.per_segment {
        state.flush();
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    let meta = new_meta(index);
    // Block 0: the metapage, written last with the segment directory.
    let mut meta_buf = Buffer::extend(index);
    if meta_buf.block() != META_BLOCK {
        Report::new(SqlState::InternalError, "the metapage must be the first block of a new index").raise();
    }
    super::buffer::init_page(meta_buf.page_mut_unlogged(), PageKind::Meta);
    meta_buf.unlock();

    let budget = unsafe { pg_sys::maintenance_work_mem } as usize * 1024;
    let per_vector = build_bytes_per_vector(meta.vector_bytes(), meta.m as usize);
    let mut state = BuildState {
        index,
        params: build_params(&meta),
        vector_bytes: meta.vector_bytes(),
        meta,
        data: Vec::new(),
        tids: Vec::new(),
        per_segment: (budget / per_vector).max(1),
        done: 0,
    };
    progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOADING);
    // SAFETY: the callback gets `state` back, which outlives the scan.
    let heap_tuples = unsafe {
        pg_sys::table_index_build_scan(
            heap,
            index,
            index_info,
            true,
            true,
            Some(build_callback),
            &mut state as *mut BuildState as *mut std::ffi::c_void,
            std::ptr::null_mut(),
        )
    };
    progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, (state.done + state.tids.len()) as i64);
    state.flush();
    if state.meta.sealed.len() > 1 {
        notice_split(index, &state);
    }
    meta_buf.lock_exclusive();
    state.meta.encode(content_mut(meta_buf.page_mut_unlogged()));
    drop(meta_buf);
    // One WAL record per page for the whole freshly built relation.
    if is_permanent(index) {
        unsafe { pg_sys::log_newpage_range(index, pg_sys::ForkNumber::MAIN_FORKNUM, 0, nblocks(index), true) };
    }
    let mut result = unsafe { PgBox::<pg_sys::IndexBuildResult>::alloc0() };
    result.heap_tuples = heap_tuples;
    result.index_tuples = state.done as f64;
    result.into_pg()
}

/// Says that the build split the index into several segments, what that
/// costs, and which setting avoids it.
fn notice_split(index: pg_sys::Relation, state: &BuildState) {
    let per_vector = build_bytes_per_vector(state.vector_bytes, state.meta.m as usize);
    let needed_mb = (state.done * per_vector).div_ceil(1024 * 1024) + 1;
    let name = relation_name(index);
    Report::new(
        SqlState::SuccessfulCompletion,
        format!("index \"{name}\" was built as {} segments of at most {} rows", state.meta.sealed.len(), state.per_segment),
    )
    .detail(format!(
        "maintenance_work_mem ({} MB) holds {} vectors at a time. Every search visits each segment, so queries are slower than on one segment.",
        maintenance_work_mem_mb(),
        state.per_segment
    ))
    .hint(format!(
        "SET maintenance_work_mem = '{needed_mb} MB' and REINDEX INDEX \"{name}\", or merge the segments with SELECT strata_optimize('{name}')."
    ))
    .notice();
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    let meta = new_meta(index);
    let buf = Buffer::extend_fork(index, pg_sys::ForkNumber::INIT_FORKNUM);
    if buf.block() != META_BLOCK {
        Report::new(SqlState::InternalError, "the metapage must be the first block of a new index").raise();
    }
    write_new_metapage(index, &buf, &meta);
}
