//! `amcostestimate`: what the planner is told an index scan costs.

use pgrx::pg_sys;

#[pgrx::pg_guard]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup: *mut pg_sys::Cost,
    total: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    // SAFETY: the planner passes its path and the outputs to fill.
    unsafe {
        // Useful for ORDER BY distance and range conditions (the only index
        // clauses the operator classes have); nothing else.
        let ranges = !(*path).indexclauses.is_null();
        if (*path).indexorderbys.is_null() && !ranges {
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
        let ef = super::scan::ef_search() as f64;
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
        // cost, so charging each rejected row (tuples (1 - s) of them) what streaming it costs
        // (`streamed_row_pages`) makes a selective filter's index path dear, and ranking the
        // matching rows exactly (found through another index or a scan, then sorted) wins, as
        // it does in time. Without a filter the estimate is unchanged.
        // indrestrictinfo: the table's filter minus what a partial index's
        // predicate already guarantees (rows the stream never rejects).
        let filter = (*info).indrestrictinfo;
        let passing = if filter.is_null() {
            1.0
        } else {
            pg_sys::clauselist_selectivity(root, filter, 0, pg_sys::JoinType::JOIN_INNER, std::ptr::null_mut()).clamp(0.0, 1.0)
        };
        if ranges {
            // A range scan stops about one look-ahead window past its radius: it reads the
            // rows within the radius (the clauses' selectivity; contsel's fixed 0.001) and
            // ef_search more, and the executor fetches and rechecks the rows within.
            let within = pg_sys::clauselist_selectivity(
                root,
                index_clause_list((*path).indexclauses),
                0,
                pg_sys::JoinType::JOIN_INNER,
                std::ptr::null_mut(),
            )
            .clamp(0.0, 1.0);
            *total = cost + (tuples * within + ef) * pg_sys::cpu_index_tuple_cost;
            *selectivity = within;
            *correlation = 0.0;
            *pages = page_reads;
            return;
        }
        let rejected = tuples * (1.0 - passing);
        // The metapage is read only when some row is rejected (a query without a filter
        // plans without touching the index).
        let per_rejected = if rejected > 0.0 {
            pg_sys::seq_page_cost * streamed_row_pages(index_vector_bytes((*info).indexoid))
        } else {
            0.0
        };
        *total = cost + tuples * pg_sys::cpu_index_tuple_cost + rejected * per_rejected;
        *selectivity = 1.0;
        *correlation = 0.0;
        *pages = page_reads;
    }
}

/// What streaming one row that a table filter then rejects costs, in pages
/// (`seq_page_cost`): the row's heap fetch and filter test, and the
/// stream's own work for it, which grows with the vector (the expansions
/// that find it estimate neighbours from codes and measure exactly, both
/// in proportion to its bytes). Measured with bench/cost-calibration.sql
/// (100,000 uniform random rows, `WHERE sel < s ORDER BY v <-> q LIMIT 10`
/// at 1% selectivity, perf build): a streamed row took 2.2, 5.0 and 12.9
/// us at 16, 64 and 384 dimensions, which at that run's cost units of the
/// exact plan (1,940-3,550 per ms) is 4.3, 15.6 and 46 pages; `2 + bytes /
/// 32` gives 4, 10 and 50. With one page per row, as before, plain SQL at
/// 64 dimensions and 1% kept the index (5.0 ms) over the exact plan
/// (0.75 ms).
fn streamed_row_pages(vector_bytes: Option<usize>) -> f64 {
    vector_bytes.map_or(1.0, |b| 2.0 + b as f64 / 32.0)
}

/// The indexed vectors' size, from the index's metapage (`None` when the
/// index has no metapage: a row is then costed as a page).
unsafe fn index_vector_bytes(index: pg_sys::Oid) -> Option<usize> {
    // SAFETY: the planner holds a lock on the index (get_relation_info).
    unsafe {
        let rel = pg_sys::index_open(index, pg_sys::NoLock as pg_sys::LOCKMODE);
        let bytes = (super::buffer::nblocks(rel) > 0).then(|| super::pages::read_meta(rel).vector_bytes());
        pg_sys::index_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        bytes
    }
}

/// The RestrictInfos of a path's IndexClause list.
unsafe fn index_clause_list(clauses: *mut pg_sys::List) -> *mut pg_sys::List {
    let mut out: *mut pg_sys::List = std::ptr::null_mut();
    // SAFETY: the planner's list of IndexClause nodes.
    unsafe {
        for i in 0..(*clauses).length as usize {
            let clause = (*(*clauses).elements.add(i)).ptr_value as *mut pg_sys::IndexClause;
            out = pg_sys::lappend(out, (*clause).rinfo.cast());
        }
    }
    out
}
