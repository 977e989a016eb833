//! The index access method `vectors`: glue between PostgreSQL's index AM API
//! and the pgrx-free HNSW engine (`strata-hnsw`). Storage is in `storage.rs`.
//!
//! An index has one sealed HNSW segment, built by CREATE INDEX, and a writing
//! segment that INSERT appends to without any graph work. A scan streams the
//! sealed segment (approximate, in increasing distance) and the writing
//! segment (exact), merged by distance, and can be pulled until every row has
//! been returned, so filtered `ORDER BY ... LIMIT k` queries get k rows.

pub mod options;
pub mod optimize;
pub mod scan;
mod segment;
pub mod storage;
mod worker;

use crate::datum::datum_vec;
use crate::error::raise;
use pgrx::pg_sys;
use pgrx::{PgSqlErrorCode, PgBox};
use storage::*;
use strata_core::StrataError;
use strata_hnsw::{ElementKind, Metric, Params, Space};

/// Runs `$body` with `$S` bound to the engine space of an (element, metric)
/// pair; the metapage and opclass only ever produce valid pairs.
macro_rules! with_space {
    ($kind:expr, $metric:expr, |$S:ident| $body:expr) => {
        strata_hnsw::with_space!($kind, $metric, $S => $body).expect("no index space for this element type and metric")
    };
}
pub(crate) use with_space;

/// Copies raw bytes into a vector of elements (any alignment).
pub fn elems_from_bytes<E: Copy>(bytes: &[u8]) -> Vec<E> {
    let mut v = Vec::new();
    copy_elems_into(bytes, &mut v);
    v
}

/// Like [`elems_from_bytes`], reusing `out`'s allocation (for per-row loops).
/// Only for element types where every bit pattern is valid (f32, f16, u64).
pub fn copy_elems_into<E: Copy>(bytes: &[u8], out: &mut Vec<E>) {
    let n = bytes.len() / std::mem::size_of::<E>();
    out.clear();
    out.reserve(n);
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr() as *mut u8, n * std::mem::size_of::<E>());
        out.set_len(n);
    }
}

pub fn elems_as_bytes<E: Copy>(v: &[E]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// The vector bytes a space stores for `raw` (normalised for f32 cosine).
pub fn prepared_bytes<S: Space>(raw: &[u8]) -> Vec<u8> {
    let mut v: Vec<S::Elem> = elems_from_bytes(raw);
    S::prepare(&mut v);
    elems_as_bytes(&v).to_vec()
}

pub fn tid_to_u64(tid: &pg_sys::ItemPointerData) -> u64 {
    let block = ((tid.ip_blkid.bi_hi as u64) << 16) | tid.ip_blkid.bi_lo as u64;
    (block << 16) | tid.ip_posid as u64
}

pub fn u64_to_tid(v: u64, tid: &mut pg_sys::ItemPointerData) {
    let block = (v >> 16) as u32;
    tid.ip_blkid.bi_hi = (block >> 16) as u16;
    tid.ip_blkid.bi_lo = (block & 0xffff) as u16;
    tid.ip_posid = (v & 0xffff) as u16;
}

/// The (element, metric) of an index and whether its column is an svector,
/// from the name of its operator class's distance function (support
/// function 1).
unsafe fn opclass_space(index: pg_sys::Relation) -> (ElementKind, Metric, bool) {
    unsafe {
        let proc = pg_sys::index_getprocid(index, 1, 1);
        let name_ptr = pg_sys::get_func_name(proc);
        let name = if name_ptr.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(name_ptr).to_string_lossy().into_owned()
        };
        use ElementKind::*;
        use Metric::*;
        let (kind, metric) = match name.as_str() {
            "vector_l2" | "svector_l2" => (F32, L2),
            "vector_negative_dot" | "svector_negative_dot" => (F32, Dot),
            "vector_cosine" | "svector_cosine" => (F32, Cosine),
            "vecf16_l2" => (F16, L2),
            "vecf16_negative_dot" => (F16, Dot),
            "vecf16_cosine" => (F16, Cosine),
            "veci8_l2" => (I8, L2),
            "veci8_negative_dot" => (I8, Dot),
            "veci8_cosine" => (I8, Cosine),
            "bvector_hamming" => (Bits, L2),
            "bvector_negative_dot" => (Bits, Dot),
            "bvector_cosine" => (Bits, Cosine),
            "bvector_jaccard" => (Bits, Jaccard),
            other => raise_feature(&format!("operator class support function {other:?} is not a strata distance")),
        };
        (kind, metric, name.starts_with("svector_"))
    }
}

/// The element bytes an index stores for a (non-NULL) column value or query:
/// the vector payload, or for an svector column its dense f32 form. Values
/// of the wrong dimension count become `mismatch(expected, actual)`.
pub unsafe fn index_vector_bytes(
    meta: &Meta,
    datum: pg_sys::Datum,
    mismatch: fn(usize, usize) -> StrataError,
) -> std::borrow::Cow<'static, [u8]> {
    unsafe {
        let dims = meta.dims as usize;
        if meta.sparse_input() {
            let v = crate::svector::datum_svec(datum);
            if v.dims as usize != dims {
                raise(mismatch(dims, v.dims as usize));
            }
            return std::borrow::Cow::Owned(crate::svector::dense_bytes(&v));
        }
        let v = datum_vec(datum);
        if v.dims != dims {
            raise(mismatch(dims, v.dims));
        }
        std::borrow::Cow::Borrowed(&v.payload()[..meta.vector_bytes()])
    }
}

pub fn wrong_dimensions(expected: usize, actual: usize) -> StrataError {
    StrataError::WrongDimensions { expected, actual }
}

fn raise_feature(msg: &str) -> ! {
    pgrx::pg_sys::panic::ErrorReport::new(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, msg.to_string(), "strata")
        .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
    unreachable!()
}

unsafe fn column_dims(index: pg_sys::Relation) -> u32 {
    unsafe {
        let desc = (*index).rd_att;
        let attr = (*desc).attrs.as_slice(1)[0];
        let typmod = attr.atttypmod;
        if typmod < 1 {
            pgrx::pg_sys::panic::ErrorReport::new(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "column does not have dimensions".to_string(),
                "strata",
            )
            .set_hint("Declare the column with its dimensions, e.g. vector(768), to index it.".to_string())
            .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
        }
        typmod as u32
    }
}

// ------------------------------------------------------------------- handler

crate::datum::pg_v1! {
    fn strata_vectors_amhandler(_fcinfo) {
        let mut am = unsafe { PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine) };
        am.amstrategies = 1;
        am.amsupport = 1;
        am.amoptsprocnum = 0;
        am.amcanorder = false;
        am.amcanorderbyop = true;
        am.amcanbackward = false;
        am.amcanunique = false;
        am.amcanmulticol = false;
        am.amoptionalkey = true;
        am.amsearcharray = false;
        am.amsearchnulls = false;
        am.amstorage = false;
        am.amclusterable = false;
        am.ampredlocks = false;
        am.amcanparallel = false;
        am.amcaninclude = false;
        am.amusemaintenanceworkmem = true;
        am.amparallelvacuumoptions = pg_sys::VACUUM_OPTION_PARALLEL_BULKDEL as u8;
        am.amkeytype = pg_sys::InvalidOid;
        am.ambuild = Some(ambuild);
        am.ambuildempty = Some(ambuildempty);
        am.aminsert = Some(aminsert);
        am.ambulkdelete = Some(ambulkdelete);
        am.amvacuumcleanup = Some(amvacuumcleanup);
        am.amcostestimate = Some(amcostestimate);
        am.amoptions = Some(options::amoptions);
        am.ambuildphasename = Some(ambuildphasename);
        am.amvalidate = Some(amvalidate);
        am.ambeginscan = Some(scan::ambeginscan);
        am.amrescan = Some(scan::amrescan);
        am.amgettuple = Some(scan::amgettuple);
        am.amendscan = Some(scan::amendscan);
        am.into_pg().into()
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn amvalidate(_opclass: pg_sys::Oid) -> bool {
    true
}

const PHASE_LOADING: i64 = 1;
const PHASE_BUILDING: i64 = 2;
const PHASE_WRITING: i64 = 3;

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    let name: &'static std::ffi::CStr = match phase {
        PHASE_LOADING => c"loading tuples",
        PHASE_BUILDING => c"building HNSW graph",
        PHASE_WRITING => c"writing index pages",
        _ => return std::ptr::null_mut(),
    };
    name.as_ptr() as *mut _
}

fn progress(param: u32, value: i64) {
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}

// --------------------------------------------------------------------- build

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
    unsafe fn flush(&mut self) {
        if self.tids.is_empty() {
            return;
        }
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_BUILDING);
        let seg = unsafe {
            segment::build_segment(self.index, &self.meta, &self.params, &self.data, &self.tids, &mut segment::Placement::AppendUnlogged)
        };
        self.done += self.tids.len();
        self.meta.sealed.push(seg);
        self.data.clear();
        self.tids.clear();
        progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, self.done as i64);
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOADING);
    }
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

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn build_callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _alive: bool,
    state: *mut std::ffi::c_void,
) {
    unsafe {
        let state = &mut *(state as *mut BuildState);
        if *isnull {
            return;
        }
        let bytes = index_vector_bytes(&state.meta, *values, wrong_dimensions);
        state.data.extend_from_slice(&bytes[..state.vector_bytes]);
        state.tids.push(tid_to_u64(&*tid));
        if state.tids.len() % 1024 == 0 {
            pg_sys::check_for_interrupts!();
        }
        if state.tids.len() >= state.per_segment {
            state.flush();
        }
    }
}

unsafe fn new_meta(index: pg_sys::Relation) -> Meta {
    unsafe {
        let (kind, metric, sparse) = opclass_space(index);
        let dims = column_dims(index);
        if sparse && dims as usize > strata_core::vector::MAX_DIMS {
            pgrx::pg_sys::panic::ErrorReport::new(
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!("a vectors index on svector supports at most {} dimensions, not {dims}", strata_core::vector::MAX_DIMS),
                "strata",
            )
            .set_hint("The index stores sparse vectors densified; search such columns without an index.".to_string())
            .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
        }
        let opts = options::index_options(index);
        Meta {
            kind: kind as u8 | if sparse { KIND_SPARSE_INPUT } else { 0 },
            metric: metric as u8,
            dims,
            m: opts.m as u16,
            ef_construction: opts.ef_construction as u16,
            max_writing_size: opts.max_writing_size as u32,
            ..Meta::default()
        }
    }
}

/// Writes a fresh metapage into block 0 of `fork` (which must be empty).
unsafe fn write_new_metapage(index: pg_sys::Relation, meta: &Meta, fork: pg_sys::ForkNumber::Type) {
    unsafe {
        let buf = pg_sys::ReadBufferExtended(index, fork, pg_sys::InvalidBlockNumber, pg_sys::ReadBufferMode::RBM_NORMAL, std::ptr::null_mut());
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        if pg_sys::BufferGetBlockNumber(buf) != META_BLOCK {
            pg_sys::UnlockReleaseBuffer(buf);
            pgrx::error!("strata: metapage must be the first block of a new index");
        }
        let state = pg_sys::GenericXLogStart(index);
        let page = pg_sys::GenericXLogRegisterBuffer(state, buf, pg_sys::GENERIC_XLOG_FULL_IMAGE as i32);
        write_meta_page(page, meta, true);
        pg_sys::GenericXLogFinish(state);
        pg_sys::UnlockReleaseBuffer(buf);
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    unsafe {
        let meta = new_meta(index);
        // Block 0: the metapage, written last with the segment directory.
        let meta_buf = new_buffer(index);
        init_page(pg_sys::BufferGetPage(meta_buf), KIND_META);
        pg_sys::MarkBufferDirty(meta_buf);
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_UNLOCK as i32);

        let budget = (pg_sys::maintenance_work_mem as usize) * 1024;
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
        let heap_tuples = pg_sys::table_index_build_scan(
            heap,
            index,
            index_info,
            true,
            true,
            Some(build_callback),
            &mut state as *mut BuildState as *mut std::ffi::c_void,
            std::ptr::null_mut(),
        );
        progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, (state.done + state.tids.len()) as i64);
        state.flush();
        if state.meta.sealed.len() > storage::MAX_SEALED {
            pgrx::error!("strata: {} segments exceed the directory; raise maintenance_work_mem", state.meta.sealed.len());
        }
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        write_meta_page(pg_sys::BufferGetPage(meta_buf), &state.meta, false);
        pg_sys::MarkBufferDirty(meta_buf);
        pg_sys::UnlockReleaseBuffer(meta_buf);
        // One WAL record per page for the whole freshly built relation.
        if (*(*index).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as i8 {
            let nblocks = pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
            pg_sys::log_newpage_range(index, pg_sys::ForkNumber::MAIN_FORKNUM, 0, nblocks, true);
        }
        let n = state.done;

        let mut result = PgBox::<pg_sys::IndexBuildResult>::alloc0();
        result.heap_tuples = heap_tuples;
        result.index_tuples = n as f64;
        result.into_pg()
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    unsafe {
        let meta = new_meta(index);
        write_new_metapage(index, &meta, pg_sys::ForkNumber::INIT_FORKNUM);
    }
}

// -------------------------------------------------------------------- insert

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    unsafe {
        if *isnull {
            return false;
        }
        let meta = read_meta(index);
        let raw = index_vector_bytes(&meta, *values, wrong_dimensions);
        let stored = with_space!(meta.element_kind(), meta.metric(), |S| prepared_bytes::<S>(&raw));
        if append_entry(index, tid_to_u64(&*heap_tid), &stored) {
            worker::launch(index);
        }
        false
    }
}

// -------------------------------------------------------------------- vacuum

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    unsafe {
        let index = (*info).index;
        let stats = if stats.is_null() { PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg() } else { stats };
        let callback = callback.expect("ambulkdelete needs a callback");
        let meta = read_meta(index);
        let mut is_dead = |tid: u64| {
            let mut t = pg_sys::ItemPointerData::default();
            u64_to_tid(tid, &mut t);
            callback(&mut t, callback_state)
        };
        let (live, removed) = vacuum_mark_deleted(index, &meta, &mut is_dead);
        (*stats).num_index_tuples = live as f64;
        (*stats).tuples_removed += removed as f64;
        let after = read_meta(index);
        if after.sealed.iter().any(|s| s.deleted as f64 > optimize::DELETED_FRACTION_REBUILD * s.nodes as f64) || !after.growing.is_empty() {
            worker::launch(index);
        }
        stats
    }
}

/// Marks every entry whose heap TID is dead, in every segment, and records
/// the sealed segments' new deletion counts in the metapage. Returns (live
/// entries, newly deleted entries).
unsafe fn vacuum_mark_deleted(index: pg_sys::Relation, meta: &Meta, is_dead: &mut dyn FnMut(u64) -> bool) -> (u64, u64) {
    let mut live = 0u64;
    let mut removed = 0u64;
    let mut removed_per_segment = vec![0u32; meta.sealed.len()];
    unsafe {
        // Sealed segment: node records carry (flags, payload); pages are
        // visited in order and only locked exclusively when something dies.
        for (seg_no, seg) in meta.sealed.iter().enumerate() {
            let pages = SegmentPages::open(index, seg);
            let layout = segment::segment_layout(&pages, seg);
            let per_page = layout.records_per_page.max(1);
            for page_no in 0..layout.node_pages {
                pg_sys::vacuum_delay_point();
                let first = page_no * per_page;
                let last = (first + per_page).min(layout.node_count);
                if first >= last {
                    break;
                }
                let block = pages.block_of(layout.first_node_page + page_no);
                let buf = read_buffer(index, block);
                pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
                let mut dying = Vec::new();
                {
                    let c = content(pg_sys::BufferGetPage(buf));
                    for id in first..last {
                        let (_, off) = layout.node_location(id);
                        if c[off] & 1 != 0 {
                            continue;
                        }
                        let tid = u64::from_ne_bytes(c[off + 16..off + 24].try_into().unwrap());
                        if is_dead(tid) {
                            dying.push(off);
                        } else {
                            live += 1;
                        }
                    }
                }
                pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_UNLOCK as i32);
                if !dying.is_empty() {
                    pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
                    let state = pg_sys::GenericXLogStart(index);
                    let page = pg_sys::GenericXLogRegisterBuffer(state, buf, 0);
                    for off in &dying {
                        strata_hnsw::page::set_deleted(content(page), *off, true);
                    }
                    pg_sys::GenericXLogFinish(state);
                    pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_UNLOCK as i32);
                    removed += dying.len() as u64;
                    removed_per_segment[seg_no] += dying.len() as u32;
                }
                pg_sys::ReleaseBuffer(buf);
            }
        }
        // Writing segment: find the dead headers, then flip them page by page.
        let mut dying: Vec<(u32, usize)> = Vec::new();
        read_all_logs(index, meta, |e| {
            if !e.deleted {
                if is_dead(e.tid) {
                    dying.push((e.block, e.offset));
                } else {
                    live += 1;
                }
            }
        });
        dying.sort_unstable();
        for chunk in dying.chunk_by(|a, b| a.0 == b.0) {
            pg_sys::vacuum_delay_point();
            let buf = read_buffer(index, chunk[0].0);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            let state = pg_sys::GenericXLogStart(index);
            let page = pg_sys::GenericXLogRegisterBuffer(state, buf, 0);
            for (_, off) in chunk {
                content(page)[off + 8] |= FLAG_DELETED;
            }
            pg_sys::GenericXLogFinish(state);
            pg_sys::UnlockReleaseBuffer(buf);
            removed += chunk.len() as u64;
        }
        if removed_per_segment.iter().any(|n| *n > 0) {
            let meta_buf = read_buffer(index, META_BLOCK);
            pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            let mut m = meta_of_page(index, pg_sys::BufferGetPage(meta_buf));
            for (seg, n) in meta.sealed.iter().zip(&removed_per_segment) {
                if let Some(s) = m.sealed.iter_mut().find(|s| s.start == seg.start && s.pages == seg.pages) {
                    s.deleted = (s.deleted + n).min(s.nodes);
                }
            }
            log_meta_update(index, meta_buf, &m);
            pg_sys::UnlockReleaseBuffer(meta_buf);
        }
    }
    (live, removed)
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    unsafe {
        if (*info).analyze_only {
            return stats;
        }
        let index = (*info).index;
        let stats = if stats.is_null() {
            // No bulkdelete pass ran (nothing to delete): count the live entries.
            let stats = PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg();
            let meta = read_meta(index);
            let (live, _) = vacuum_mark_deleted(index, &meta, &mut |_| false);
            (*stats).num_index_tuples = live as f64;
            stats
        } else {
            stats
        };
        (*stats).num_pages = pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
        // A writing segment still below max_writing_size when (auto)vacuum
        // comes has gone idle: hand it to the background merge too.
        if hand_over_writing_segment(index) {
            worker::launch(index);
        }
        stats
    }
}

/// Turns a non-empty writing segment into a growing segment. Returns whether it did.
unsafe fn hand_over_writing_segment(index: pg_sys::Relation) -> bool {
    unsafe {
        let meta_buf = read_buffer(index, META_BLOCK);
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        let mut meta = meta_of_page(index, pg_sys::BufferGetPage(meta_buf));
        let handed = meta.hand_over_writing();
        if handed {
            log_meta_update(index, meta_buf, &meta);
        }
        pg_sys::UnlockReleaseBuffer(meta_buf);
        handed
    }
}

// ---------------------------------------------------------------------- cost

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup: *mut pg_sys::Cost,
    total: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    unsafe {
        // Only useful for ORDER BY distance; never for plain predicates.
        if (*path).indexorderbys.is_null() {
            *startup = f64::MAX;
            *total = f64::MAX;
            *selectivity = 0.0;
            *correlation = 0.0;
            *pages = 0.0;
            return;
        }
        let info = (*path).indexinfo;
        let tuples = (*info).tuples.max(1.0);
        let index_pages = (*info).pages.max(1) as f64;
        let ef = scan::ef_search() as f64;
        // A search expands about ef nodes, measuring their neighbours (a few
        // distance computations each), and touches pages that are usually
        // cached; all of it is paid before the first row comes out.
        let measured = (ef * 8.0).min(tuples);
        let page_reads = (ef / 2.0).min(index_pages);
        let cost = page_reads * pg_sys::seq_page_cost + measured * pg_sys::cpu_operator_cost * 4.0;
        *startup = cost;
        // A filter on the table that passes a fraction s of the rows makes a LIMIT k stream
        // about k / s rows, of which all but k are fetched, tested and dropped: work that
        // returns nothing. The planner charges a LIMIT its fraction (k / (tuples s)) of the run
        // cost, so charging each rejected row (tuples (1 - s) of them) about a page makes a
        // selective filter's index path dear, and ranking the matching rows exactly (found
        // through another index or a scan, then sorted) wins, as it does in time: on
        // tests/sql/am_cost.sql's table (50,000 16-dimensional rows, perf build) a streamed
        // row took about 2.7 us against about 0.8 us per matching row for the exact plan,
        // which the planner costs at about a page per row when matches are spread over the
        // table. Without a filter the estimate is unchanged.
        // indrestrictinfo: the table's filter minus what a partial index's
        // predicate already guarantees (rows the stream never rejects).
        let filter = (*info).indrestrictinfo;
        let passing = if filter.is_null() {
            1.0
        } else {
            pg_sys::clauselist_selectivity(root, filter, 0, pg_sys::JoinType::JOIN_INNER, std::ptr::null_mut()).clamp(0.0, 1.0)
        };
        let rejected = tuples * (1.0 - passing);
        *total = cost + tuples * pg_sys::cpu_index_tuple_cost + rejected * pg_sys::seq_page_cost;
        *selectivity = 1.0;
        *correlation = 0.0;
        *pages = page_reads;
    }
}

// ------------------------------------------------------------ SQL functions

unsafe fn open_vectors_index(oid: pg_sys::Oid, lock: pg_sys::LOCKMODE) -> pg_sys::Relation {
    unsafe {
        let rel = pg_sys::relation_open(oid, lock);
        let am_name = pg_sys::get_am_name((*(*rel).rd_rel).relam);
        let is_ours = (*(*rel).rd_rel).relkind == pg_sys::RELKIND_INDEX as i8
            && !am_name.is_null()
            && std::ffi::CStr::from_ptr(am_name).to_bytes() == b"vectors";
        if !is_ours {
            let name = relation_name(rel);
            pg_sys::relation_close(rel, lock);
            pgrx::pg_sys::panic::ErrorReport::new(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not a vectors index"),
                "strata",
            )
            .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
        }
        rel
    }
}

crate::datum::pg_v1! {
    fn strata_optimize(fcinfo) {
        unsafe {
            let oid = pg_sys::Oid::from(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).value() as u32);
            let index = open_vectors_index(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            // Excludes VACUUM and other merges on the table, not inserts or queries.
            let heap_oid = pg_sys::IndexGetRelation(oid, false);
            pg_sys::LockRelationOid(heap_oid, pg_sys::ShareUpdateExclusiveLock as pg_sys::LOCKMODE);
            let merged = optimize::merge(index, optimize::Scope::Full);
            pg_sys::relation_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            crate::datum::bool_datum(merged)
        }
    }
}

/// One row of `pg_vector_index_stat` for a vectors index.
#[pgrx::pg_extern(volatile, parallel_safe)]
#[allow(clippy::type_complexity)]
fn strata_index_stat(
    index: pg_sys::Oid,
) -> pgrx::iter::TableIterator<
    'static,
    (
        pgrx::name!(idx_tuples, i64),
        pgrx::name!(idx_sealed, Vec<i64>),
        pgrx::name!(idx_sealed_deleted, Vec<i64>),
        pgrx::name!(idx_growing, Vec<i64>),
        pgrx::name!(idx_write, i64),
        pgrx::name!(idx_free_pages, i64),
        pgrx::name!(idx_size, i64),
    ),
> {
    unsafe {
        let rel = open_vectors_index(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let meta = read_meta(rel);
        let sealed: Vec<i64> = meta.sealed.iter().map(|s| s.nodes as i64).collect();
        let deleted: Vec<i64> = meta.sealed.iter().map(|s| s.deleted as i64).collect();
        let growing: Vec<i64> = meta.growing.iter().map(|g| g.entries as i64).collect();
        let live_sealed: i64 = meta.sealed.iter().map(|s| (s.nodes - s.deleted.min(s.nodes)) as i64).sum();
        let tuples = live_sealed + growing.iter().sum::<i64>() + meta.log.entries as i64;
        let free_pages: i64 = meta.free.iter().chain(&meta.log_free).map(|r| r.pages as i64).sum();
        let size = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM) as i64 * 8192;
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pgrx::iter::TableIterator::once((tuples, sealed, deleted, growing, meta.log.entries as i64, free_pages, size))
    }
}

pgrx::extension_sql!(
    r#"
-- Per vectors index: its table, options, segment sizes and merge activity.
-- idx_tuples counts entries not yet known deleted (VACUUM updates that);
-- idx_sealed / idx_growing give the rows of each sealed / growing segment,
-- idx_write the rows of the writing segment.
CREATE VIEW pg_vector_index_stat AS
SELECT c.oid AS tablerelid,
       i.oid AS indexrelid,
       c.relname AS tablename,
       i.relname AS indexname,
       i.reloptions AS idx_options,
       EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
                WHERE l.relation = c.oid AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted
                  AND (a.backend_type = 'strata merge' OR a.query ILIKE '%strata_optimize%')
                  AND a.pid <> pg_catalog.pg_backend_pid()) AS idx_indexing,
       s.idx_tuples, s.idx_sealed, s.idx_sealed_deleted, s.idx_growing, s.idx_write, s.idx_free_pages, s.idx_size
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_am am ON am.oid = i.relam AND am.amname = 'vectors'
  CROSS JOIN LATERAL strata_index_stat(i.oid) s
 WHERE x.indisvalid;
"#,
    name = "index_stat_view",
    requires = [strata_index_stat]
);
