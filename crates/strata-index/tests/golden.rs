//! Pages written by strata before its storage layer moved into this crate
//! (see tests/golden/README.md) decode as they did, and what this crate
//! writes for the same operations is byte for byte what was written.

use std::collections::HashMap;

use strata_index::log::{read_all_logs, set_entry_deleted};
use strata_index::page::{content, content_mut, CONTENT_OFFSET, PAGE_SIZE};
use strata_index::{MemRelation, Meta};
use strata_hnsw::{ElementKind, Metric};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// An index of `nblocks` blocks holding the golden pages of `name` it has
/// (the rest zero).
fn load(name: &str, nblocks: u32) -> MemRelation {
    let mut rel = MemRelation::default();
    for b in 0..nblocks {
        rel.extend();
        if let Ok(hex) = std::fs::read_to_string(format!("{DIR}/{name}.{b}.hex")) {
            rel.pages[b as usize] = MemRelation::from_hex_pages([hex.as_str()]).pages.remove(0);
        }
    }
    rel
}

/// id -> heap TID as the index stores it (block << 16 | offset).
fn tids(file: &str) -> HashMap<u32, u64> {
    std::fs::read_to_string(format!("{DIR}/{file}"))
        .unwrap()
        .lines()
        .map(|l| {
            let (tid, id) = l.split_once('|').unwrap();
            let (block, offset) = tid.trim_matches(|c| c == '(' || c == ')').split_once(',').unwrap();
            (id.parse().unwrap(), (block.parse::<u64>().unwrap() << 16) | offset.parse::<u64>().unwrap())
        })
        .collect()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_ne_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn metapage_of_an_index_with_every_kind_of_segment() {
    let rel = load("t_idx", 18);
    let meta = Meta::from_page(&rel.pages[0], 18).unwrap();
    assert_eq!((meta.element_kind(), meta.metric(), meta.sparse_input()), (ElementKind::F32, Metric::L2, false));
    assert_eq!((meta.dims, meta.m, meta.ef_construction, meta.max_writing_size), (3, 8, 32, 50));
    // pg_vector_index_stat said: sealed {360} with {2} deleted, growing {50,20}, writing 3, 7 free pages.
    assert_eq!(meta.sealed.iter().map(|s| (s.nodes, s.deleted, s.mapped)).collect::<Vec<_>>(), vec![(360, 2, false)]);
    assert_eq!(meta.growing.iter().map(|g| g.entries).collect::<Vec<_>>(), vec![50, 20]);
    assert_eq!(meta.log.entries, 3);
    let free_pages: u32 = meta.free.iter().chain(&meta.log_free).map(|r| r.pages).sum();
    assert_eq!(free_pages, 7);
    assert!(!meta.free.is_empty() && !meta.log_free.is_empty(), "both pools are in use");

    // Encoding what was decoded gives the very same bytes.
    let mut again = vec![0u8; content(&rel.pages[0]).len()];
    meta.encode(&mut again);
    assert_eq!(again, content(&rel.pages[0]));

    // A directory pointing past the relation is caught.
    let e = Meta::from_page(&rel.pages[0], 10).unwrap_err();
    assert!(e.0.contains("outside the index's 10 blocks"), "{e}");
}

#[test]
fn log_entries_with_deletions_across_growing_and_writing_segments() {
    let rel = load("t_idx", 18);
    let meta = Meta::from_page(&rel.pages[0], 18).unwrap();
    let tid_of = tids("t_ctids.txt");
    let mut entries = Vec::new();
    read_all_logs(&rel, &meta, |e| entries.push((e.tid, e.deleted, f32s(e.vector)))).unwrap();
    assert_eq!(entries.len(), 50 + 20 + 3);
    // Rows 361..=433 in insert order; 365 and 425 (deleted, so without a
    // row now) were at heap TIDs (2,51) and (2,111).
    for (n, (tid, deleted, v)) in entries.iter().enumerate() {
        let id = 361 + n as u32;
        let f = id as f32;
        assert_eq!(v, &vec![f, 2.0 * f, -f], "entry {n}");
        assert_eq!(*deleted, id == 365 || id == 425, "entry {n}");
        let expected = match id {
            365 => (2 << 16) | 51,
            425 => (2 << 16) | 111,
            _ => tid_of[&id],
        };
        assert_eq!(*tid, expected, "entry {n}");
    }
}

/// w_idx holds entries larger than a page: replaying its history through
/// this crate's append planning (as `MemRelation::append_entry` and the
/// access method carry it out) writes the same log pages and metapage.
#[test]
fn entries_spanning_pages_are_written_as_before() {
    let golden = load("w_idx", 7);
    let meta = Meta::from_page(&golden.pages[0], 7).unwrap();
    assert_eq!((meta.dims, meta.growing.len(), meta.growing[0].entries, meta.log.entries), (2100, 1, 3, 1));

    let mut rel = MemRelation::default();
    rel.extend(); // block 0, the metapage
    let mut m = Meta { sealed: vec![], growing: vec![], log: Default::default(), ..meta.clone() };
    let tid_of = tids("w_ctids.txt");
    let vector = |value: f32| -> Vec<u8> { std::iter::repeat_n(value, 2100).flat_map(f32::to_ne_bytes).collect() };
    rel.append_entry(&mut m, tid_of[&1], &vector(1.0));
    let (block, offset) = rel.append_entry(&mut m, 2, &vector(2.0));
    rel.append_entry(&mut m, tid_of[&3], &vector(3.0));
    // VACUUM flags row 2 and hands the idle writing segment over.
    set_entry_deleted(content_mut(&mut rel.pages[block as usize]), offset);
    assert!(m.hand_over_writing());
    rel.append_entry(&mut m, tid_of[&4], &vector(4.0));

    assert_eq!(rel.pages.len(), 7);
    for b in 1..7 {
        // Content and special space; the page header carries LSNs and checksums.
        assert_eq!(&rel.pages[b][CONTENT_OFFSET..PAGE_SIZE], &golden.pages[b][CONTENT_OFFSET..PAGE_SIZE], "block {b}");
    }
    let mut encoded = vec![0u8; content(&golden.pages[0]).len()];
    m.encode(&mut encoded);
    assert_eq!(encoded, content(&golden.pages[0]));

    let mut values = Vec::new();
    read_all_logs(&golden, &meta, |e| values.push((e.deleted, f32s(e.vector)[2099]))).unwrap();
    assert_eq!(values, vec![(false, 1.0), (true, 2.0), (false, 3.0), (false, 4.0)]);
}
