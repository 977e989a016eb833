//! Sealed segments: built from collected vectors (CREATE INDEX) or by
//! merging segments (`optimize`), written into pages, and opened for reading.

use super::buffer::{extend_run, extend_sparse, init_page, interrupt_point, is_permanent, relation_name, Buffer};
use super::pages::SegmentPages;
use super::standby::{corrupted, log_reuse_conflict};
use super::values::{elems_as_bytes, elems_from_bytes};
use super::with_space;
use crate::error::Report;
use pgrx::pg_sys;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use strata_core::SqlState;
use strata_hnsw::page::{Layout, PageSource, PagedGraph};
use strata_hnsw::{BuildError, Element, GraphView, Hnsw, Params, Slab, Space, Spill};
use strata_index::extents::{plan, write_map, ExtentMap, FreeRun, MAX_EXTENTS};
use strata_index::free::xid_precedes;
use strata_index::page::{content_mut, PageKind};
use strata_index::{FreeRange, Meta, Segment};

/// Whether a cancel (pg_cancel_backend, statement_timeout) or termination
/// (pg_terminate_backend, SIGTERM of the merge worker) is pending that the
/// next CHECK_FOR_INTERRUPTS would raise. It only reads PostgreSQL's signal
/// flags, and is the engine's interrupt hook: the engine calls it on this
/// (the backend's main) thread every few milliseconds while its worker
/// threads build, and stops them when it returns true.
pub fn cancel_pending() -> bool {
    // SAFETY: plain reads of PostgreSQL's signal flags (volatile, as the C
    // macros read them) on the backend's own thread.
    unsafe {
        let cancel = std::ptr::read_volatile(&raw const pg_sys::QueryCancelPending) != 0
            && std::ptr::read_volatile(&raw const pg_sys::QueryCancelHoldoffCount) == 0;
        let die = std::ptr::read_volatile(&raw const pg_sys::ProcDiePending) != 0;
        (cancel || die)
            && std::ptr::read_volatile(&raw const pg_sys::InterruptHoldoffCount) == 0
            && std::ptr::read_volatile(&raw const pg_sys::CritSectionCount) == 0
    }
}

/// Raises the interrupt that stopped the engine, as CHECK_FOR_INTERRUPTS
/// does (57014 "canceling statement due to user request" or "... due to
/// statement timeout", FATAL for a termination).
pub fn raise_cancel() -> ! {
    pg_sys::check_for_interrupts!();
    // Not reached unless the flags changed meanwhile; still never go on
    // with a half-built graph.
    Report::new(SqlState::QueryCanceled, "canceling statement due to user request").raise()
}

/// Where the pages of a new segment go.
pub enum Placement {
    /// Append to the relation (CREATE INDEX, which WAL-logs the whole relation at the end).
    AppendUnlogged,
    /// Reuse free ranges that are old enough (one that fits, else several
    /// behind an extent map), extending for the rest; WAL-log the pages.
    /// `free` is left holding the ranges not taken.
    Live { free: Vec<FreeRange>, oldest_xmin: u32 },
}

/// Takes the pages of a new segment of `total` pages from `free` as
/// [`strata_index::extents::plan`] says. Returns the map page, if any, and
/// the segment's extents.
fn place_live(index: pg_sys::Relation, free: &mut Vec<FreeRange>, oldest_xmin: u32, total: u32) -> (Option<u32>, Vec<(u32, u32)>) {
    let runs: Vec<FreeRun> = free
        .iter()
        .map(|r| FreeRun { start: r.start, pages: r.pages, reusable: xid_precedes(r.retired_xid, oldest_xmin) })
        .collect();
    // The map page comes out of the first run, so the map lists at most as
    // many extents as the plan makes.
    let p = plan(&runs, total, MAX_EXTENTS);
    let mut blocks: Vec<(u32, u32)> = Vec::with_capacity(p.extent_count());
    for &(i, n) in &p.taken {
        // Before write_graph WAL-logs the run's new content.
        log_reuse_conflict(index, free[i].start, free[i].retired_xid);
        blocks.push((free[i].start, n));
        free[i].start += n;
        free[i].pages -= n;
    }
    free.retain(|r| r.pages > 0);
    if p.extend > 0 {
        blocks.push((extend_run(index, p.extend), p.extend));
    }
    if !p.mapped {
        return (None, blocks);
    }
    // The map takes the first page of the first run.
    let map = blocks[0].0;
    blocks[0] = (map + 1, blocks[0].1 - 1);
    blocks.retain(|&(_, n)| n > 0);
    (Some(map), blocks)
}

fn write_graph<S: Space>(index: pg_sys::Relation, graph: &Hnsw<S>, placement: &mut Placement) -> Segment {
    // CREATE INDEX writes into a relation nobody else sees yet:
    // - it can stop while writing (its whole relation goes away); a live
    //   merge cannot (pages it extended would be lost until REINDEX), it is
    //   checked right before and after;
    // - it extends the relation by the whole segment at once, with no
    //   extension lock (`extend_sparse`), and writes each page into a zeroed
    //   buffer: one buffer access and no system call per page. Extending
    //   page by page (as pgvector's build does) wrote each page's zeroes to
    //   the file first.
    let creating = matches!(placement, Placement::AppendUnlogged);
    let codes = super::codes::new_code_spec::<S>(index, graph.dim());
    let total = strata_hnsw::page::layout_of_coded(graph, codes).total_pages;
    let (map_page, extents) = match placement {
        Placement::AppendUnlogged => (None, vec![(extend_sparse(index, total), total)]),
        Placement::Live { free, oldest_xmin } => place_live(index, free, *oldest_xmin, total),
    };
    let map = ExtentMap::new(extents);
    // The pages are logged below as full images (log_newpage_range) or with
    // the whole relation at the end of CREATE INDEX, not record by record.
    let layout = strata_hnsw::page::write_pages_coded(graph, codes, |no, payload| {
        if creating && no % 64 == 0 {
            interrupt_point();
        }
        let block = map.block_of(no).expect("the extents cover the segment");
        let mut buf = if creating {
            Buffer::zeroed(index, block)
        } else {
            Buffer::exclusive(index, block)
        };
        let page = buf.page_mut_unlogged();
        init_page(page, PageKind::Sealed);
        content_mut(page).copy_from_slice(payload);
    });
    if let Some(block) = map_page {
        let mut buf = Buffer::exclusive(index, block);
        let page = buf.page_mut_unlogged();
        init_page(page, PageKind::Extents);
        write_map(content_mut(page), map.extents());
    }
    if let Placement::Live { .. } = placement {
        if is_permanent(index) {
            for &(start, n) in map_page.map(|b| (b, 1)).iter().chain(map.extents()) {
                unsafe { pg_sys::log_newpage_range(index, pg_sys::ForkNumber::MAIN_FORKNUM, start, start + n, true) };
            }
        }
    }
    Segment {
        start: map_page.unwrap_or(map.extents()[0].0),
        pages: layout.total_pages,
        nodes: layout.node_count,
        deleted: 0,
        mapped: map_page.is_some(),
    }
}

/// `params` counting the nodes the engine inserts, and the interrupt hook
/// that reports that count through `inserted` (every few milliseconds, on
/// this thread) and polls for a cancel.
fn reporting<'a>(params: &Params, inserted: &'a mut dyn FnMut(u64)) -> (Params, impl FnMut() -> bool + 'a) {
    let counter = Arc::new(AtomicU64::new(0));
    let params = Params { inserted: Some(counter.clone()), ..params.clone() };
    let poll = move || {
        inserted(counter.load(Ordering::Relaxed));
        cancel_pending()
    };
    (params, poll)
}

/// Builds a sealed segment from prepared-or-raw vector bytes and heap TIDs.
/// While the engine's threads insert, `inserted` is called every few
/// milliseconds (on this thread) with the number of rows in the graph so far.
pub fn build_segment(
    index: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    data: &[u8],
    tids: &[u64],
    placement: &mut Placement,
    inserted: &mut dyn FnMut(u64),
) -> Segment {
    let vector_len = meta.vector_len();
    let (params, mut poll) = reporting(params, inserted);
    with_space!(meta.element_kind(), meta.metric(), |S| {
        // Straight into the build's arrays (huge pages), with no copy
        // between.
        let vectors = Slab::<<S as Space>::Elem>::copied_from_bytes(data);
        let payloads = Slab::copied_from(tids);
        let graph = match Hnsw::<S>::build_slabs(&params, vector_len, vectors, payloads, None, &mut poll) {
            Ok(g) => g,
            Err(BuildError::Cancelled) => raise_cancel(),
            Err(BuildError::Spill(e)) => spill_failed(index, &e),
        };
        pg_sys::check_for_interrupts!();
        write_graph(index, &graph, placement)
    })
}

/// [`build_segment`] over rows a build spilled to temporary files: `rows`
/// vectors (the index's bytes, back to back) in `vectors`, their TIDs in
/// `tids`. The graph's adjacency lists go into `spill`'s files too, so the
/// backend's own memory stays a few bytes per row (see strata_hnsw::slab).
#[allow(clippy::too_many_arguments)]
pub fn build_segment_spilled(
    index: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    vectors: &std::fs::File,
    tids: &std::fs::File,
    rows: usize,
    spill: &Spill,
    placement: &mut Placement,
    inserted: &mut dyn FnMut(u64),
) -> Segment {
    let vector_len = meta.vector_len();
    let (params, mut poll) = reporting(params, inserted);
    with_space!(meta.element_kind(), meta.metric(), |S| {
        let built = Slab::<<S as Space>::Elem>::map(vectors, rows * vector_len)
            .and_then(|v| Ok((v, Slab::<u64>::map(tids, rows)?)))
            .map_err(BuildError::Spill)
            .and_then(|(v, t)| Hnsw::<S>::build_slabs(&params, vector_len, v, t, Some(spill), &mut poll));
        let graph = match built {
            Ok(g) => g,
            Err(BuildError::Cancelled) => raise_cancel(),
            Err(BuildError::Spill(e)) => spill_failed(index, &e),
        };
        pg_sys::check_for_interrupts!();
        write_graph(index, &graph, placement)
    })
}

/// Raises the error of a temporary file a build or merge could not make or map.
pub fn spill_failed(index: pg_sys::Relation, e: &std::io::Error) -> ! {
    let state = match e.kind() {
        std::io::ErrorKind::StorageFull => SqlState::DiskFull,
        std::io::ErrorKind::QuotaExceeded => SqlState::ConfigurationLimitExceeded,
        _ => SqlState::IoError,
    };
    Report::new(state, format!("could not write temporary files for index \"{}\": {e}", relation_name(index)))
        .hint("Free disk space in the data directory, or raise maintenance_work_mem so that the build or merge needs fewer temporary files.")
        .raise()
}

/// The layout of sealed segment `seg` (opened as `pages`), checked against
/// the format and against the metapage's entry for it.
pub fn segment_layout(pages: &SegmentPages, seg: &Segment) -> Layout {
    let bad = |what: String| -> ! { corrupted(pages.index, &format!("sealed segment at block {}: {what}", seg.start)) };
    let layout = pages.with_page(0, Layout::read).unwrap_or_else(|e| bad(e.to_string()));
    let elem_size = strata_hnsw::with_space!(layout.element, layout.metric, S => <<S as Space>::Elem as Element>::SIZE)
        .unwrap_or_else(|| bad(format!("no space for {:?} with {:?}", layout.element, layout.metric)));
    if let Err(e) = layout.validate(elem_size) {
        bad(e.to_string());
    }
    check_against_directory(pages.index, seg, &layout);
    layout
}

fn check_against_directory(index: pg_sys::Relation, seg: &Segment, layout: &Layout) {
    if layout.total_pages != seg.pages || layout.node_count != seg.nodes {
        corrupted(
            index,
            &format!(
                "sealed segment at block {}: {} pages and {} nodes, the metapage says {} and {}",
                seg.start, layout.total_pages, layout.node_count, seg.pages, seg.nodes
            ),
        );
    }
}

/// Opens a sealed segment for reading, checked like [`segment_layout`] and
/// against the index's vector length.
pub fn open_segment<S: Space>(index: pg_sys::Relation, meta: &Meta, seg: &Segment) -> PagedGraph<SegmentPages, S> {
    // open() validates the layout for S's elements.
    let graph = PagedGraph::<SegmentPages, S>::open(SegmentPages::open(index, seg))
        .unwrap_or_else(|e| corrupted(index, &format!("sealed segment at block {}: {e}", seg.start)));
    check_against_directory(index, seg, graph.layout());
    if graph.vector_len() != meta.vector_len() {
        corrupted(index, "sealed segment dimensions differ from the metapage");
    }
    graph
}

/// The rows a merge adds to its base segment (log entries, then the live
/// nodes of the other merged segments): held in memory, or, for a merge
/// that spills (see `optimize`), written to two temporary files of its
/// [`Spill`] as they arrive, as a spilled CREATE INDEX writes its rows.
pub struct MergeRows {
    data: Vec<u8>,
    tids: Vec<u64>,
    files: Option<MergeFiles>,
    rows: usize,
}

struct MergeFiles {
    spill: Spill,
    vectors: BufWriter<File>,
    tids: BufWriter<File>,
}

impl MergeRows {
    pub fn in_memory() -> Self {
        MergeRows { data: Vec::new(), tids: Vec::new(), files: None, rows: 0 }
    }

    /// Rows written to new files of `spill` (raises the file's error).
    pub fn spilled(index: pg_sys::Relation, spill: Spill) -> Self {
        let files = spill.file(0).and_then(|v| Ok((v, spill.file(0)?)));
        let (vectors, tids) = files.unwrap_or_else(|e| spill_failed(index, &e));
        let files = MergeFiles {
            spill,
            vectors: BufWriter::with_capacity(1 << 20, vectors),
            tids: BufWriter::with_capacity(1 << 16, tids),
        };
        MergeRows { data: Vec::new(), tids: Vec::new(), files: Some(files), rows: 0 }
    }

    /// Adds a row: the index's bytes of its vector, and its TID.
    pub fn push(&mut self, index: pg_sys::Relation, vector: &[u8], tid: u64) {
        match &mut self.files {
            None => {
                self.data.extend_from_slice(vector);
                self.tids.push(tid);
            }
            Some(f) => {
                if let Err(e) = f.vectors.write_all(vector).and_then(|()| f.tids.write_all(&tid.to_ne_bytes())) {
                    spill_failed(index, &e);
                }
            }
        }
        self.rows += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

/// Merges `sealed` (all live nodes) and `rows` (log entries) into one new
/// segment, reusing the largest segment's graph. With spilled `rows`, the
/// other segments' nodes join them in their files, and the merged graph's
/// vectors, TIDs and adjacency lists go to files of the same spill
/// (strata_hnsw::merge::merge_spilled_interruptible); the files are counted
/// in pg_stat_database.temp_bytes.
pub fn merge_segments(
    index: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    sealed: &[Segment],
    mut rows: MergeRows,
    placement: &mut Placement,
) -> Segment {
    let base = sealed.iter().enumerate().max_by_key(|(_, s)| s.nodes).map(|(i, _)| i);
    let vector_len = meta.vector_len();
    with_space!(meta.element_kind(), meta.metric(), |S| {
        // Live nodes of every other segment join the new rows, through
        // `add` (each node's vector, already prepared, and TID).
        let others = |add: &mut dyn FnMut(&[<S as Space>::Elem], u64)| {
            for (i, seg) in sealed.iter().enumerate() {
                if Some(i) == base {
                    continue;
                }
                let graph = open_segment::<S>(index, meta, seg);
                for id in 0..graph.len() {
                    graph.with_node(id, |v, deleted| {
                        if !deleted {
                            add(v, graph.payload(id));
                        }
                    });
                    if id % 4096 == 0 {
                        pg_sys::check_for_interrupts!();
                    }
                }
            }
        };
        match rows.files.take() {
            None => {
                let mut data: Vec<<S as Space>::Elem> = elems_from_bytes(&rows.data);
                rows.data = Vec::new();
                let mut tids = std::mem::take(&mut rows.tids);
                others(&mut |v, tid| {
                    data.extend_from_slice(v);
                    tids.push(tid);
                });
                let graph = match base {
                    Some(b) => {
                        let old = open_segment::<S>(index, meta, &sealed[b]);
                        strata_hnsw::merge::merge_interruptible(&old, params, &data, Some(&tids), &mut cancel_pending)
                    }
                    None => Hnsw::<S>::build_owned_interruptible(
                        params,
                        vector_len,
                        std::mem::take(&mut data),
                        Some(std::mem::take(&mut tids)),
                        &mut cancel_pending,
                    ),
                }
                .unwrap_or_else(|_| raise_cancel());
                drop(data);
                pg_sys::check_for_interrupts!();
                write_graph(index, &graph, placement)
            }
            Some(mut f) => {
                let mut n = rows.rows;
                others(&mut |v, tid| {
                    let written = f.vectors.write_all(elems_as_bytes(v)).and_then(|()| f.tids.write_all(&tid.to_ne_bytes()));
                    if let Err(e) = written {
                        spill_failed(index, &e);
                    }
                    n += 1;
                });
                let files = f.vectors.into_inner().map_err(|e| e.into_error()).and_then(|v| Ok((v, f.tids.into_inner().map_err(|e| e.into_error())?)));
                let (vectors, tids) = files.unwrap_or_else(|e| spill_failed(index, &e));
                let spill = f.spill;
                spill.charge((n * (meta.vector_bytes() + 8)) as u64);
                let input = Slab::<<S as Space>::Elem>::map(&vectors, n * vector_len)
                    .and_then(|v| Ok((v, Slab::<u64>::map(&tids, n)?)))
                    .map_err(BuildError::Spill);
                let built = match base {
                    Some(b) => input.and_then(|(v, t)| {
                        let old = open_segment::<S>(index, meta, &sealed[b]);
                        strata_hnsw::merge_spilled_interruptible(&old, params, &v, Some(&t), Some(&spill), &mut cancel_pending)
                    }),
                    None => input.and_then(|(v, t)| Hnsw::<S>::build_slabs(params, vector_len, v, t, Some(&spill), &mut cancel_pending)),
                };
                let graph = match built {
                    Ok(g) => g,
                    Err(BuildError::Cancelled) => raise_cancel(),
                    Err(BuildError::Spill(e)) => spill_failed(index, &e),
                };
                pg_sys::check_for_interrupts!();
                let seg = write_graph(index, &graph, placement);
                drop(graph);
                // Counted in pg_stat_database.temp_files/temp_bytes like a sort's files.
                unsafe { pg_sys::pgstat_report_tempfile(spill.used() as usize) };
                seg
            }
        }
    })
}
