//! Building sealed segments: from collected vectors (CREATE INDEX) or by
//! merging existing segments and the writing segment (`strata_optimize`).

use super::storage::*;
use super::{elems_from_bytes, with_space};
use pgrx::pg_sys;
use strata_hnsw::page::{Layout, PageSource, PagedGraph};
use strata_hnsw::{GraphView, Hnsw, Params, Space};

/// Where the pages of a new segment go.
pub enum Placement {
    /// Append to the relation (CREATE INDEX, which WAL-logs the whole relation at the end).
    AppendUnlogged,
    /// Reuse a free range if one is large enough and old enough, else extend;
    /// WAL-log the pages. Returns the free ranges left.
    Live { free: Vec<FreeRange>, oldest_xmin: u32 },
}

unsafe fn write_graph<S: Space>(index: pg_sys::Relation, graph: &Hnsw<S>, placement: &mut Placement) -> Segment {
    unsafe {
        let total = strata_hnsw::page::layout_of(graph).total_pages;
        let start = match placement {
            Placement::AppendUnlogged => extend_run(index, total),
            Placement::Live { free, oldest_xmin } => {
                let reusable = free.iter().position(|r| {
                    r.pages >= total && xid_precedes(r.retired_xid, *oldest_xmin)
                });
                match reusable {
                    Some(i) => {
                        let r = free[i];
                        if r.pages == total {
                            free.remove(i);
                        } else {
                            free[i] = FreeRange { start: r.start + total, pages: r.pages - total, retired_xid: r.retired_xid };
                        }
                        r.start
                    }
                    None => extend_run(index, total),
                }
            }
        };
        let layout = strata_hnsw::page::write_pages(graph, |no, payload| {
            let buf = read_buffer(index, start + no);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            let page = pg_sys::BufferGetPage(buf);
            init_page(page, KIND_SEALED);
            content(page).copy_from_slice(payload);
            pg_sys::MarkBufferDirty(buf);
            pg_sys::UnlockReleaseBuffer(buf);
        });
        if let Placement::Live { .. } = placement {
            if (*(*index).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as i8 {
                pg_sys::log_newpage_range(index, pg_sys::ForkNumber::MAIN_FORKNUM, start, start + total, true);
            }
        }
        Segment { start, pages: layout.total_pages, nodes: layout.node_count, deleted: 0 }
    }
}

/// Builds a sealed segment from prepared-or-raw vector bytes and heap TIDs.
pub unsafe fn build_segment(
    index: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    data: &[u8],
    tids: &[u64],
    placement: &mut Placement,
) -> Segment {
    let vector_len = meta.vector_len();
    with_space!(meta.element_kind(), meta.metric(), |S| {
        let elems: Vec<<S as Space>::Elem> = elems_from_bytes(data);
        let graph = Hnsw::<S>::build(params, vector_len, &elems, Some(tids));
        drop(elems);
        unsafe {
            pg_sys::check_for_interrupts!();
            write_graph(index, &graph, placement)
        }
    })
}

pub fn segment_pages(index: pg_sys::Relation, seg: &Segment) -> SegmentPages {
    SegmentPages { index, start: seg.start, pages: seg.pages }
}

pub unsafe fn segment_layout(index: pg_sys::Relation, seg: &Segment) -> Layout {
    segment_pages(index, seg)
        .with_page(0, Layout::read)
        .unwrap_or_else(|e| unsafe { corrupted(index, &format!("sealed segment at block {}: {e}", seg.start)) })
}

/// Merges `sealed` (all live nodes) and the given writing-segment entries
/// into one new segment, reusing the largest segment's graph.
pub unsafe fn merge_segments(
    index: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    sealed: &[Segment],
    extra_data: &[u8],
    extra_tids: &[u64],
    placement: &mut Placement,
) -> Segment {
    with_space!(meta.element_kind(), meta.metric(), |S| {
        unsafe {
            let mut data: Vec<<S as Space>::Elem> = elems_from_bytes(extra_data);
            let mut tids = extra_tids.to_vec();
            let base = sealed.iter().enumerate().max_by_key(|(_, s)| s.nodes).map(|(i, _)| i);
            // Live nodes of every other segment join the new vectors.
            for (i, seg) in sealed.iter().enumerate() {
                if Some(i) == base {
                    continue;
                }
                let graph = PagedGraph::<SegmentPages, S>::open(segment_pages(index, seg))
                    .unwrap_or_else(|e| corrupted(index, &format!("sealed segment: {e}")));
                for id in 0..graph.len() {
                    let live = graph.with_node(id, |v, deleted| {
                        if !deleted {
                            data.extend_from_slice(v);
                        }
                        !deleted
                    });
                    if live {
                        tids.push(graph.payload(id));
                    }
                    if id % 4096 == 0 {
                        pg_sys::check_for_interrupts!();
                    }
                }
            }
            let graph = match base {
                Some(b) => {
                    let old = PagedGraph::<SegmentPages, S>::open(segment_pages(index, &sealed[b]))
                        .unwrap_or_else(|e| corrupted(index, &format!("sealed segment: {e}")));
                    strata_hnsw::merge(&old, params, &data, Some(&tids))
                }
                None => Hnsw::<S>::build(params, meta.vector_len(), &data, Some(&tids)),
            };
            drop(data);
            pg_sys::check_for_interrupts!();
            write_graph(index, &graph, placement)
        }
    })
}
