//! Index scans: `ORDER BY col <op> query` streamed from every sealed segment
//! (approximately increasing distance, as far as the executor pulls) merged
//! with the growing and writing segments (exact distances, sorted); see
//! `strata_index::stream`. Under `strata.scan_order = strict` the merged
//! stream is made non-decreasing by dropping every candidate nearer than one
//! already returned.
//!
//! Range conditions `col <<op>> sphere(center, radius)` (strategy 2) stream
//! from the center (or from the ORDER BY query when there is one) and, when
//! the stream's query is the center, skip candidates beyond the radius and
//! stop after a look-ahead window of them (`strata_core::range`); the
//! executor rechecks each row's exact condition.

use super::buffer::IndexRel;
use super::pages::{read_meta, SegmentPages};
use super::standby::{take_changed_raised, with_view, OrCorrupted, ScanView};
use super::values::{copy_elems_into, elems_from_bytes, index_vector_bytes, prepared_bytes, u64_to_tid};
use super::with_space;
use pgrx::guc::GucSetting;
use pgrx::pg_sys;
use std::rc::Rc;
use strata_core::range::{RangeStep, RangeStop};
use strata_core::scan_order::ReturnFilter;
use strata_core::StrataError;
use strata_hnsw::page::PagedGraph;
use strata_hnsw::{GraphView, SegmentedSearch, Space};
use strata_index::log::read_all_logs;
use strata_index::stream::{Candidate, CandidateStream, MergedStream};

pub static EF_SEARCH: GucSetting<i32> = GucSetting::<i32>::new(100);

pub fn ef_search() -> usize {
    EF_SEARCH.get().max(1) as usize
}

/// `strata.search_mode`: `vbase` streams until the executor stops asking;
/// `basic` returns at most ef_search rows per scan, like a classic HNSW index.
#[derive(Clone, Copy, PartialEq, Eq, Debug, pgrx::PostgresGucEnum)]
pub enum SearchMode {
    #[name = c"vbase"]
    Vbase,
    #[name = c"basic"]
    Basic,
}

pub static SEARCH_MODE: GucSetting<SearchMode> = GucSetting::<SearchMode>::new(SearchMode::Vbase);

/// `strata.scan_order`: `relaxed` returns rows in approximately increasing
/// distance (the look-ahead window corrects most of the graph search's
/// disorder, not all of it); `strict` never returns a row nearer than one
/// already returned, dropping such late arrivals (as pgvector's
/// `hnsw.iterative_scan = strict_order`), which costs some recall.
#[derive(Clone, Copy, PartialEq, Eq, Debug, pgrx::PostgresGucEnum)]
pub enum ScanOrder {
    #[name = c"relaxed"]
    Relaxed,
    #[name = c"strict"]
    Strict,
}

pub static SCAN_ORDER: GucSetting<ScanOrder> = GucSetting::<ScanOrder>::new(ScanOrder::Relaxed);


/// The sealed segments searched as one: their searches share the working
/// set, so a segment whose rows are all farther than the results so far
/// stops early (see `strata_hnsw::stream`). With default settings a large
/// CREATE INDEX makes several segments (maintenance_work_mem).
struct SealedStream<S: Space> {
    inner: SegmentedSearch<PagedGraph<SegmentPages, S>, S>,
}

impl<S: Space> CandidateStream for SealedStream<S> {
    fn next_candidate(&mut self) -> Option<Candidate> {
        let hit = self.inner.next()?;
        Some(Candidate(hit.distance, self.inner.graphs()[hit.graph].payload(hit.id)))
    }
}

struct ScanState {
    index: pg_sys::Relation,
    /// The query's stored form (normalised for cosine), `None` for a NULL query.
    query: Option<Vec<u8>>,
    started: bool,
    /// Every segment's candidates, merged.
    stream: MergedStream<'static>,
    /// Rows returned so far and the most `basic` mode returns.
    returned: usize,
    limit: usize,
    /// The segments the scan started from (see `standby`).
    view: Option<Rc<ScanView>>,
    /// Times the scan started over because replay changed the index under it.
    restarts: u32,
    /// Each heap TID at most once (even should two segments hold it) and,
    /// under `strata.scan_order = strict` (read once per scan, so a scan
    /// never changes its order midway), non-decreasing distances.
    admitted: ReturnFilter,
    /// Range conditions: rows need the executor's recheck.
    recheck: bool,
    /// The radius the stream stops at, when its query is a range's center.
    range: Option<RangeStop>,
    /// A condition no row meets (a NULL sphere): the scan returns nothing.
    empty: bool,
}

/// How often a scan that has returned no row yet starts over from the
/// current metapage when replay changed the index under it (each time a
/// merge's reused pages were hit); after that it raises the 40001.
const MAX_RESTARTS: u32 = 3;

/// Holds the scan state so that both `amendscan` and the memory context's
/// reset (after an ERROR, when `amendscan` is not called) can free it.
struct Slot(Option<Box<ScanState>>);

unsafe extern "C-unwind" fn free_slot(arg: *mut std::ffi::c_void) {
    unsafe { (*(arg as *mut Slot)).0.take() };
}

unsafe fn slot<'a>(scan: pg_sys::IndexScanDesc) -> &'a mut Slot {
    unsafe { &mut *((*scan).opaque as *mut Slot) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(index: pg_sys::Relation, nkeys: i32, norderbys: i32) -> pg_sys::IndexScanDesc {
    unsafe {
        let scan = pg_sys::RelationGetIndexScan(index, nkeys, norderbys);
        // The AM owns the arrays the executor reads ORDER BY values from.
        let n = norderbys.max(1) as usize;
        (*scan).xs_orderbyvals = pg_sys::palloc0(n * std::mem::size_of::<pg_sys::Datum>()) as *mut pg_sys::Datum;
        (*scan).xs_orderbynulls = pg_sys::palloc0(n * std::mem::size_of::<bool>()) as *mut bool;
        let slot = pg_sys::palloc0(std::mem::size_of::<Slot>()) as *mut Slot;
        std::ptr::write(slot, Slot(None));
        let cb = pg_sys::palloc0(std::mem::size_of::<pg_sys::MemoryContextCallback>()) as *mut pg_sys::MemoryContextCallback;
        (*cb).func = Some(free_slot);
        (*cb).arg = slot as *mut std::ffi::c_void;
        pg_sys::MemoryContextRegisterResetCallback(pg_sys::CurrentMemoryContext, cb);
        (*scan).opaque = slot as *mut std::ffi::c_void;
        scan
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    keys: pg_sys::ScanKey,
    nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    // SAFETY: the executor passes the scan, its WHERE keys and its ORDER BY keys.
    unsafe {
        let index = (*scan).indexRelation;
        let meta = read_meta(index);
        let prepare = |datum: pg_sys::Datum| {
            let raw = index_vector_bytes(&meta, datum, |left, right| StrataError::DimensionMismatch { left, right });
            with_space!(meta.element_kind(), meta.metric(), |S| prepared_bytes::<S>(&raw))
        };
        let mut query = None;
        let mut empty = false;
        if norderbys > 0 {
            // The executor fills orderByData itself when orderbys is NULL.
            if !orderbys.is_null() && orderbys != (*scan).orderByData {
                std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
            }
            let key = &*(*scan).orderByData;
            if key.sk_flags & pg_sys::SK_ISNULL as i32 == 0 {
                query = Some(prepare(key.sk_argument));
            }
        }
        if nkeys > 0 && !keys.is_null() && keys != (*scan).keyData {
            std::ptr::copy(keys, (*scan).keyData, nkeys as usize);
        }
        // Range keys (the only search strategy): (prepared center, radius).
        let mut ranges = Vec::new();
        for i in 0..nkeys.max(0) as usize {
            let key = &*(*scan).keyData.add(i);
            if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
                empty = true;
                continue;
            }
            let (center, radius) = crate::sphere::sphere_parts(key.sk_argument);
            ranges.push((prepare(center), radius));
        }
        // Without ORDER BY, stream from the first range's center.
        if query.is_none() && norderbys == 0 {
            query = ranges.first().map(|r| r.0.clone());
        }
        // The stream can stop at a radius measured from its own query only.
        let range = ranges
            .iter()
            .filter(|r| Some(&r.0) == query.as_ref())
            .map(|r| r.1)
            .min_by(|a, b| a.total_cmp(b))
            .map(|radius| RangeStop::new(radius, ef_search()));
        slot(scan).0 = Some(Box::new(ScanState {
            index,
            query,
            started: false,
            stream: MergedStream::new(),
            returned: 0,
            limit: if SEARCH_MODE.get() == SearchMode::Basic { ef_search() } else { usize::MAX },
            view: None,
            restarts: 0,
            admitted: ReturnFilter::new(SCAN_ORDER.get() == ScanOrder::Strict),
            recheck: !ranges.is_empty(),
            range,
            empty,
        }));
    }
}

/// What PostgreSQL's pgstat_count_index_scan macro does, so pg_stat_*_indexes
/// count scans of vectors indexes.
unsafe fn count_index_scan(index: pg_sys::Relation) {
    unsafe {
        if (*index).pgstat_info.is_null() && (*index).pgstat_enabled {
            pg_sys::pgstat_assoc_relation(index);
        }
        if !(*index).pgstat_info.is_null() {
            (*(*index).pgstat_info).t_counts.t_numscans += 1;
        }
    }
}

fn start(st: &mut ScanState) {
    let Some(query) = st.query.as_deref() else { return };
    let meta = read_meta(st.index);
    let index = st.index;
    let view = Rc::new(ScanView::new(index, &meta));
    st.view = Some(view.clone());
    let stream = &mut st.stream;
    with_view(&view, || with_space!(meta.element_kind(), meta.metric(), |S| {
        let q: Vec<<S as Space>::Elem> = elems_from_bytes(query);
        // Each segment is checked against the format and the metapage;
        // every page the stream reads is checked again and is a point where
        // the scan can be cancelled.
        let graphs: Vec<_> = meta.sealed.iter().map(|seg| super::segment::open_segment::<S>(index, &meta, seg)).collect();
        // Segments with codes in memory are searched on them (see codes.rs).
        let codes = graphs.iter().map(|g| super::codes::segment_codes(index, g)).collect();
        stream.add_stream(Box::new(SealedStream { inner: SegmentedSearch::<_, S>::with_codes(graphs, codes, &q, ef_search()) }));
        // The logs are scanned exactly; vectors there are already in
        // stored (prepared) form.
        let mut v: Vec<<S as Space>::Elem> = Vec::with_capacity(q.len());
        let mut exact = Vec::new();
        read_all_logs(&IndexRel(index), &meta, |e| {
            if !e.deleted {
                copy_elems_into(e.vector, &mut v);
                exact.push(Candidate(S::distance(&q, &v), e.tid));
            }
        })
        .or_corrupted(index);
        stream.add_exact(exact);
    }));
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(scan: pg_sys::IndexScanDesc, _dir: pg_sys::ScanDirection::Type) -> bool {
    unsafe {
        let Some(st) = slot(scan).0.as_deref_mut() else { return false };
        if !st.started {
            count_index_scan(st.index);
        }
        let next = if st.returned > 0 {
            next_row(st)
        } else {
            // No row returned yet: if replay changed the index under the
            // scan (on a standby, see `standby`), start over from
            // the current metapage instead of failing the query.
            loop {
                take_changed_raised();
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next_row(st))) {
                    Ok(next) => break next,
                    Err(error) if take_changed_raised() && st.restarts < MAX_RESTARTS => {
                        drop(error);
                        st.restarts += 1;
                        st.started = false;
                        st.stream = MergedStream::new();
                        st.admitted = ReturnFilter::new(SCAN_ORDER.get() == ScanOrder::Strict);
                        if let Some(range) = st.range.as_mut() {
                            range.reset();
                        }
                    }
                    Err(error) => std::panic::resume_unwind(error),
                }
            }
        };
        let Some(Candidate(distance, tid)) = next else { return false };
        st.returned += 1;
        u64_to_tid(tid, &mut (*scan).xs_heaptid);
        // A range's exact condition is the operator's (f64 distance against the radius).
        (*scan).xs_recheck = st.recheck;
        (*scan).xs_recheckorderby = false;
        *(*scan).xs_orderbyvals = pg_sys::Datum::from((distance as f64).to_bits());
        *(*scan).xs_orderbynulls = false;
        if pg_sys::InterruptPending != 0 {
            pg_sys::check_for_interrupts!();
        }
        true
    }
}

/// The next row to return: the nearest of the look-ahead window and the
/// writing segment, skipping TIDs already returned and, in strict order,
/// candidates nearer than the last row returned.
fn next_row(st: &mut ScanState) -> Option<Candidate> {
    if st.empty {
        return None;
    }
    loop {
        let next = next_candidate(st)?;
        if let Some(range) = st.range.as_mut() {
            match range.step(next.0) {
                RangeStep::Return => {}
                RangeStep::Skip => continue,
                RangeStep::Stop => {
                    st.empty = true;
                    return None;
                }
            }
        }
        if st.admitted.admit(next.0, next.1) {
            return Some(next);
        }
    }
}

/// The scan's next candidate, starting the scan on first call.
fn next_candidate(st: &mut ScanState) -> Option<Candidate> {
    if !st.started {
        st.started = true;
        start(st);
    }
    if st.returned >= st.limit {
        return None;
    }
    // No view: a NULL query, which has no rows.
    let view = st.view.clone()?;
    // ef_search candidates of look-ahead correct the sealed streams' order.
    with_view(&view, || st.stream.next(ef_search()))
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    unsafe { slot(scan).0.take() };
}
