//! Sealed segments' codes (format version 3) kept in backend memory.
//!
//! A scan estimates every neighbour it discovers from the neighbour's code
//! and reads only the pages of the nodes it expands (`strata_hnsw::stream`).
//! That only pays when the codes are in memory: read through the buffer
//! manager, each code would cost the pin and lock a node page costs. A
//! segment's codes never change once written (deleted marks live in the
//! node records), so a backend reads them once, on its first scan of the
//! segment, and keeps them while it stays under `strata.code_cache`.
//!
//! Entries are keyed by the relation's file and the segment's uid, a random
//! number written into every new segment's meta page: a segment written
//! later on the same pages (after a merge freed them) has another uid, so a
//! cached entry can never be taken for it. Entries of dropped segments stay
//! until evicted (least recently used first) or the backend exits.

use pgrx::guc::GucSetting;
use pgrx::pg_sys;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use strata_hnsw::page::{CodeSpec, PageSource, PagedGraph, SegmentCodes};
use strata_hnsw::quant::{code_dim, CodeKind};
use strata_hnsw::{Element, ElementKind, Space};

/// `strata.code_cache`: megabytes of segment codes a backend keeps.
pub static CODE_CACHE_MB: GucSetting<i32> = GucSetting::<i32>::new(256);

type Key = (pg_sys::Oid, u64);

struct Cache {
    entries: HashMap<Key, (Arc<SegmentCodes>, u64)>,
    bytes: usize,
    clock: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache { entries: HashMap::new(), bytes: 0, clock: 0 });
}

fn budget() -> usize {
    CODE_CACHE_MB.get().max(0) as usize * 1024 * 1024
}

/// The codes of `graph` (a sealed segment of `index`), from the cache or
/// read now; `None` for a version-1 segment (written before codes existed,
/// or of bvector) or when its codes alone exceed `strata.code_cache`
/// (the scan then measures every neighbour from its page, as version 1).
pub fn segment_codes<P: PageSource, S: Space>(index: pg_sys::Relation, graph: &PagedGraph<P, S>) -> Option<Arc<SegmentCodes>> {
    let section = graph.layout().codes.as_ref()?;
    let size = section.code_bytes as usize * graph.layout().node_count as usize;
    let limit = budget();
    if size > limit {
        return None;
    }
    // SAFETY: an open relation's file locator.
    let file = unsafe { (*index).rd_node.relNode };
    let key = (file, section.uid);
    let hit = CACHE.with_borrow_mut(|c| {
        c.clock += 1;
        let now = c.clock;
        c.entries.get_mut(&key).map(|e| {
            e.1 = now;
            e.0.clone()
        })
    });
    if hit.is_some() {
        return hit;
    }
    let codes = Arc::new(graph.load_codes()?);
    CACHE.with_borrow_mut(|c| {
        while c.bytes + codes.memory() > limit {
            let Some((&oldest, _)) = c.entries.iter().min_by_key(|(_, e)| e.1) else { break };
            let (gone, _) = c.entries.remove(&oldest).unwrap();
            c.bytes -= gone.memory();
        }
        c.clock += 1;
        c.bytes += codes.memory();
        let now = c.clock;
        if let Some((old, _)) = c.entries.insert(key, (codes.clone(), now)) {
            c.bytes -= old.memory();
        }
    });
    Some(codes)
}

/// The code a new sealed segment of space `S` gets: SQ8 up to 128
/// dimensions, RaBitQ4 up to 4064, RaBitQ1 above (none past about 65k bits,
/// where a code no longer fits a page); none for bvector, whose vectors are
/// already bits. Measured on GloVe-50 in memory (crates/strata-hnsw/examples/
/// coded_bench.rs): SQ8 reaches recall@10 0.94 at ef 80 with 144 page reads
/// per query against 1678 for version 1 at 0.91, for 14% more pages
/// (RaBitQ4: 0.96 at 282 pages; SQ4 and RaBitQ1 bounds are too loose to
/// stop a search, which then reads most of the graph).
pub fn new_code_spec<S: Space>(index: pg_sys::Relation, vector_len: usize) -> Option<CodeSpec> {
    let kind = segment_code_kind(<S::Elem as Element>::KIND, vector_len)?;
    Some(CodeSpec { kind, seed: new_uid(index), uid: new_uid(index) })
}

/// The kind of code [`new_code_spec`] gives a segment of `vector_len`
/// elements of `kind`.
pub fn segment_code_kind(kind: ElementKind, vector_len: usize) -> Option<CodeKind> {
    let dim = code_dim(kind, vector_len)?;
    // Long vectors: the smallest code, so that most of a code page's
    // worth of codes still fits (the engine writes none past a page).
    Some(match dim {
        0..=128 => CodeKind::Sq8,
        _ if CodeKind::RaBitQ4.code_bytes(dim) <= 2048 => CodeKind::RaBitQ4,
        _ => CodeKind::RaBitQ1,
    })
}

/// A number that differs for every segment written: the time, the process,
/// the relation and a per-process counter, mixed.
fn new_uid(index: pg_sys::Relation) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // SAFETY: reads of the clock, this process's pid and an open relation.
    let (now, pid, file) = unsafe { (pg_sys::GetCurrentTimestamp() as u64, pg_sys::MyProcPid as u64, u32::from((*index).rd_node.relNode) as u64) };
    let mut x = now ^ pid.rotate_left(40) ^ file.rotate_left(20) ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
