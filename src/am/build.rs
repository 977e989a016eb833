//! CREATE INDEX (`ambuild`) and the init fork of an unlogged index
//! (`ambuildempty`).
//!
//! The build collects the table's vectors and turns them into sealed
//! segments. While they fit in `maintenance_work_mem` it holds them and the
//! graph in memory. Beyond that it *spills*: the vectors, TIDs and the
//! graph's adjacency lists move to temporary files (strata_hnsw::slab), so
//! the index still becomes one segment, searched as one graph (several
//! segments cost every query a search in each). The build's own memory is
//! then [`SPILLED_BYTES_PER_VECTOR`] per row; only past that, or when
//! `temp_file_limit` forbids the files, does it split into segments of what
//! fits. The metapage is written last, and the whole relation is WAL-logged
//! at the end (one full-page record per page).

use super::buffer::{is_permanent, nblocks, relation_name, Buffer};
use super::opclass::new_meta;
use super::pages::write_new_metapage;
use super::segment;
use super::values::{index_vector_bytes, tid_to_u64, wrong_dimensions};
use crate::error::Report;
use pgrx::pg_sys;
use pgrx::PgBox;
use strata_core::SqlState;
use std::fs::File;
use std::io::{BufWriter, Write};
use strata_hnsw::quant::{code_dim, CodeKind};
use strata_hnsw::{Params, Spill};
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
        build_codes: build_code_kind(meta),
        segment_codes: super::codes::segment_code_kind(meta.element_kind(), meta.vector_len()),
        ..Params::default()
    }
}

/// The code this index's builds and merges search on (see
/// strata_hnsw::quant::build_code_kind, where the choice is measured).
pub fn build_code_kind(meta: &Meta) -> Option<CodeKind> {
    strata_hnsw::quant::build_code_kind(meta.element_kind(), meta.vector_len())
}

/// Bytes per vector of what a build searches and measures on besides the
/// vectors: its build code, and the `bf16` copy its insertions measure
/// pair distances on where that applies (strata_hnsw::pairs).
fn build_code_bytes(meta: &Meta) -> usize {
    let kind = build_code_kind(meta);
    let code = kind.map_or(0, |k| k.code_bytes(code_dim(meta.element_kind(), meta.vector_len()).unwrap_or(0)));
    code + strata_hnsw::pairs::bytes_per_vector(meta.element_kind(), meta.metric(), kind, meta.vector_len())
}

/// Bytes a vector costs while building: the vector, its TID, its graph
/// entry (2m layer-0 links plus upper layers and bookkeeping), its build
/// code and pair copy.
pub fn build_bytes_per_vector(meta: &Meta) -> usize {
    let m = meta.m as usize;
    meta.vector_bytes() + 8 + 4 * 2 * m + 4 * m / 2 + 32 + build_code_bytes(meta)
}

/// Backend memory a row costs while a spilled build builds its graph: its
/// level, upper-list offset and deleted mark (6 bytes), its insertion lock
/// (8) and visited marks (2 per building thread), rounded up to leave room
/// for the page writer's per-node positions.
pub const SPILLED_BYTES_PER_VECTOR: usize = 32;

/// Temporary-file bytes a spilled row needs: its vector, its TID, its
/// layer-0 list (2m + 1 words), an allowance for upper lists (a node has
/// 1/(m-1) upper lists of m + 1 words on average; m + 1 words bound that
/// for any m), its build code and pair copy.
pub fn spill_bytes_per_vector(meta: &Meta) -> usize {
    let m = meta.m as usize;
    meta.vector_bytes() + 8 + 4 * (2 * m + 1) + 4 * (m + 1) + build_code_bytes(meta)
}

/// PostgreSQL's temp_file_limit in bytes (None: unlimited).
pub fn temp_file_limit() -> Option<u64> {
    let kb = unsafe { pg_sys::temp_file_limit };
    u64::try_from(kb).ok().map(|kb| kb * 1024)
}

/// Rows of the current segment written to temporary files.
struct SpillRun {
    spill: Spill,
    vectors: BufWriter<File>,
    tids: BufWriter<File>,
    rows: usize,
}

struct BuildState {
    index: pg_sys::Relation,
    meta: Meta,
    params: Params,
    vector_bytes: usize,
    /// Rows of the current segment while it is held in memory.
    data: Vec<u8>,
    tids: Vec<u64>,
    /// Rows of the current segment once it spilled.
    run: Option<SpillRun>,
    /// Rows per segment held in memory: what fits in maintenance_work_mem.
    per_segment_memory: usize,
    /// Rows the current segment may reach (more once it spills).
    per_segment: usize,
    done: usize,
    /// Rows of the largest segment.
    largest: usize,
    /// Temporary-file bytes of all spilled segments.
    spilled_bytes: u64,
}

impl BuildState {
    fn rows(&self) -> usize {
        self.run.as_ref().map_or(self.tids.len(), |r| r.rows)
    }

    fn push(&mut self, vector: &[u8], tid: u64) {
        match &mut self.run {
            None => {
                self.data.extend_from_slice(vector);
                self.tids.push(tid);
            }
            Some(run) => {
                let written = run.vectors.write_all(vector).and_then(|()| run.tids.write_all(&tid.to_ne_bytes()));
                if let Err(e) = written {
                    segment::spill_failed(self.index, &e);
                }
                run.rows += 1;
            }
        }
    }

    /// The current segment reached `per_segment` rows: it spills if it may
    /// and has not yet, else it becomes a sealed segment.
    fn full(&mut self) {
        if self.run.is_some() || !self.start_spill() {
            self.flush();
        }
    }

    /// Moves the rows held in memory to temporary files, and lets the
    /// segment grow to what the build's memory holds once spilled (and
    /// temp_file_limit allows). False when that would not be more rows.
    fn start_spill(&mut self) -> bool {
        let limit = temp_file_limit();
        let by_files = limit.map_or(usize::MAX, |l| usize::try_from(l / spill_bytes_per_vector(&self.meta) as u64).unwrap_or(usize::MAX));
        let budget = unsafe { pg_sys::maintenance_work_mem } as usize * 1024;
        let per_segment = (budget / SPILLED_BYTES_PER_VECTOR).min(by_files);
        if per_segment <= self.tids.len() {
            return false;
        }
        // The data directory is the backend's working directory;
        // PostgreSQL removes files named pgsql_tmp* there when it restarts
        // (these are unlinked at once anyway).
        let pid = unsafe { pg_sys::MyProcPid };
        let spill = Spill::new("base/pgsql_tmp", format!("pgsql_tmp{pid}.strata_build"), limit);
        let files = spill.file(0).and_then(|v| Ok((v, spill.file(0)?)));
        let (vectors, tids) = files.unwrap_or_else(|e| segment::spill_failed(self.index, &e));
        let mut run = SpillRun { spill, vectors: BufWriter::with_capacity(1 << 20, vectors), tids: BufWriter::with_capacity(1 << 16, tids), rows: self.tids.len() };
        let tid_bytes: Vec<u8> = self.tids.iter().flat_map(|t| t.to_ne_bytes()).collect();
        if let Err(e) = run.vectors.write_all(&self.data).and_then(|()| run.tids.write_all(&tid_bytes)) {
            segment::spill_failed(self.index, &e);
        }
        notice_spill(self, per_segment);
        self.data = Vec::new();
        self.tids = Vec::new();
        self.per_segment = per_segment;
        self.run = Some(run);
        true
    }

    /// Turns the collected vectors into a sealed segment.
    fn flush(&mut self) {
        let rows = self.rows();
        if rows == 0 {
            return;
        }
        if self.meta.sealed.len() >= MAX_SEALED {
            let mb = maintenance_work_mem_mb();
            Report::new(SqlState::ProgramLimitExceeded, format!("index \"{}\" needs more than {MAX_SEALED} segments", relation_name(self.index)))
                .detail(format!("maintenance_work_mem ({mb} MB) holds {} vectors per segment.", self.per_segment))
                .hint(format!(
                    "Raise maintenance_work_mem (each MB holds about {} vectors of this index) and create the index again.",
                    (1 << 20) / build_bytes_per_vector(&self.meta)
                ))
                .raise();
        }
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_BUILDING);
        // tuples_done counts rows in finished segments plus those the
        // engine has inserted into this one's graph so far.
        let done = self.done as i64;
        let mut report = |inserted: u64| progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, done + inserted as i64);
        let seg = match self.run.take() {
            None => segment::build_segment(
                self.index,
                &self.meta,
                &self.params,
                &self.data,
                &self.tids,
                &mut segment::Placement::AppendUnlogged,
                &mut report,
            ),
            Some(run) => {
                let files = run.vectors.into_inner().map_err(|e| e.into_error()).and_then(|v| Ok((v, run.tids.into_inner().map_err(|e| e.into_error())?)));
                let (vectors, tids) = files.unwrap_or_else(|e| segment::spill_failed(self.index, &e));
                run.spill.charge((rows * (self.vector_bytes + 8)) as u64);
                let seg = segment::build_segment_spilled(
                    self.index,
                    &self.meta,
                    &self.params,
                    &vectors,
                    &tids,
                    rows,
                    &run.spill,
                    &mut segment::Placement::AppendUnlogged,
                    &mut report,
                );
                self.spilled_bytes += run.spill.used();
                // Counted in pg_stat_database.temp_files/temp_bytes like a
                // sort's files.
                unsafe { pg_sys::pgstat_report_tempfile(run.spill.used() as usize) };
                self.per_segment = self.per_segment_memory;
                seg
            }
        };
        self.done += rows;
        self.largest = self.largest.max(rows);
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
    state.push(&bytes[..state.vector_bytes], tid);
    let rows = state.rows();
    if rows % 1024 == 0 {
        pg_sys::check_for_interrupts!();
    }
    if rows >= state.per_segment {
        state.full();
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
    let per_vector = build_bytes_per_vector(&meta);
    let per_segment_memory = (budget / per_vector).max(1);
    let mut state = BuildState {
        index,
        params: build_params(&meta),
        vector_bytes: meta.vector_bytes(),
        meta,
        data: Vec::new(),
        tids: Vec::new(),
        run: None,
        per_segment_memory,
        per_segment: per_segment_memory,
        done: 0,
        largest: 0,
        spilled_bytes: 0,
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
    progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, (state.done + state.rows()) as i64);
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
    let name = relation_name(index);
    let files_needed = (state.done * spill_bytes_per_vector(&state.meta)) as u64;
    // Whether temp_file_limit lets a build of this size spill.
    let may_spill = temp_file_limit().is_none_or(|l| l >= files_needed);
    let (why, per_row) = if may_spill {
        (
            format!("holds the graph of {} rows when it spills to temporary files", (maintenance_work_mem_mb() << 20) / SPILLED_BYTES_PER_VECTOR),
            SPILLED_BYTES_PER_VECTOR,
        )
    } else {
        (
            format!(
                "holds {} rows in memory, and temp_file_limit leaves no room for the {} MB of temporary files a build of one segment would use",
                state.per_segment_memory,
                files_needed >> 20
            ),
            build_bytes_per_vector(&state.meta),
        )
    };
    let needed_mb = (state.done * per_row).div_ceil(1024 * 1024) + 1;
    Report::new(
        SqlState::SuccessfulCompletion,
        format!("index \"{name}\" was built as {} segments of at most {} rows", state.meta.sealed.len(), state.largest),
    )
    .detail(format!(
        "maintenance_work_mem ({} MB) {why}. Every search visits each segment, so queries are slower than on one segment.",
        maintenance_work_mem_mb(),
    ))
    .hint(format!(
        "SET maintenance_work_mem = '{needed_mb} MB' and REINDEX INDEX \"{name}\", or merge the segments with SELECT strata_optimize('{name}')."
    ))
    .notice();
}

/// Says that the build outgrew maintenance_work_mem and continues in
/// temporary files, at what cost, and which settings govern that.
fn notice_spill(state: &BuildState, per_segment: usize) {
    let per_row = spill_bytes_per_vector(&state.meta);
    Report::new(
        SqlState::SuccessfulCompletion,
        format!(
            "index \"{}\" no longer fits in maintenance_work_mem ({} MB) after {} rows; building it in temporary files",
            relation_name(state.index),
            maintenance_work_mem_mb(),
            state.tids.len()
        ),
    )
    .detail(format!(
        "The vectors and the graph move to files in base/pgsql_tmp ({per_row} bytes per row); the build keeps {SPILLED_BYTES_PER_VECTOR} bytes per row in memory, enough for {per_segment} rows in one segment. It is a little slower than in memory while the operating system caches the files, and slower when it cannot."
    ))
    .hint("Raise maintenance_work_mem to build in memory. temp_file_limit bounds the files; a build they would exceed splits into segments instead.")
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
