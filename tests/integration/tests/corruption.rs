//! A `vectors` index whose pages hold garbage reports `index "x" is
//! corrupted` (SQLSTATE XX002, with a hint to REINDEX) instead of crashing
//! the server or returning garbage; the server keeps running and REINDEX
//! repairs the index. Each case overwrites one page of the index file of a
//! stopped private cluster: zeroed, or random content between an intact page
//! header and special space (what passes PostgreSQL's own page checks).

use postgres::Client;
use std::process::Command;
use strata_integration::cluster::Cluster;

fn vector_of(id: i64) -> String {
    strata_integration::test_vector(id, 16)
}

const PAGE: usize = 8192;

#[derive(Clone, Copy, Debug)]
enum Damage {
    Zero,
    /// Random bytes between the 24-byte header and the 16-byte special space.
    RandomContent,
    /// Random bytes in the content and in the special space (page kind, magic).
    RandomContentAndSpecial,
    /// One u32 of the content (at this content offset) set to a value.
    Word(usize, u32),
}

#[derive(Clone, Copy, Debug)]
enum Block {
    Meta,
    SegmentMeta,
    SegmentNodes,
    /// The first page of the segment's code section (format 3): the
    /// quantizer's parameters.
    CodeParams,
    WritingLog,
}

fn damage(page: &mut [u8], how: Damage, seed: &mut u64) {
    let mut next = || {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*seed >> 33) as u8
    };
    match how {
        Damage::Zero => page.fill(0),
        Damage::RandomContent => page[24..PAGE - 16].iter_mut().for_each(|b| *b = next()),
        Damage::RandomContentAndSpecial => page[24..].iter_mut().for_each(|b| *b = next()),
        Damage::Word(off, v) => page[24 + off..24 + off + 4].copy_from_slice(&v.to_ne_bytes()),
    }
}

fn pg_ctl_fast_stop(cluster: &Cluster) {
    let pg_bin = std::env::var("STRATA_PG_BIN").expect("STRATA_PG_BIN");
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(format!("{pg_bin}/pg_ctl"))
        .args(["-D", &cluster.data(), "-m", "fast", "-w", "stop"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl stop failed");
}

/// Damages one block of `items_emb` on disk (the block `pick` chooses from
/// the file's block count) with the server stopped after a checkpoint, and
/// returns a connection to the restarted server.
fn damage_on_disk(cluster: &Cluster, mut c: Client, pick: impl FnOnce(usize) -> usize, how: Damage, seed: &mut u64) -> Client {
    let path: String = c.query_one("SELECT pg_relation_filepath('items_emb')", &[]).unwrap().get(0);
    c.batch_execute("CHECKPOINT").unwrap();
    drop(c);
    pg_ctl_fast_stop(cluster);
    let file = format!("{}/{path}", cluster.data());
    let mut bytes = std::fs::read(&file).unwrap();
    let no = pick(bytes.len() / PAGE);
    damage(&mut bytes[no * PAGE..(no + 1) * PAGE], how, seed);
    std::fs::write(&file, &bytes).unwrap();
    cluster.start();
    cluster.connect("postgres")
}

/// The index's rows in distance order through a full index scan (reads every
/// page of every segment and the writing segment).
const FULL_SCAN: &str = "SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s";

fn expect_corrupted(c: &mut Client, sql: &str, case: &str) {
    let e = c.batch_execute(sql).expect_err(&format!("{case}: {sql} succeeded on a damaged index"));
    let db = e.as_db_error().unwrap_or_else(|| panic!("{case}: {sql}: not a server error: {e}"));
    assert_eq!(db.code().code(), "XX002", "{case}: {sql}: {e}");
    assert_eq!(db.message(), "index \"items_emb\" is corrupted", "{case}: {sql}");
    assert!(db.hint().unwrap_or("").contains("REINDEX"), "{case}: hint {:?}", db.hint());
    eprintln!("{case}: {sql}: {} ({})", db.message(), db.detail().unwrap_or(""));
}

fn assert_finds_rows(c: &mut Client, ids: &[i64], case: &str) {
    c.batch_execute("SET enable_seqscan = off").unwrap();
    for &id in ids {
        let found: i64 = c
            .query_one(&format!("SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", vector_of(id)), &[])
            .unwrap()
            .get(0);
        assert_eq!(found, id, "{case}: row {id} not found through the repaired index");
    }
    let total: i64 = c.query_one(FULL_SCAN, &[]).unwrap().get(0);
    let rows: i64 = c.query_one("SELECT count(*) FROM items", &[]).unwrap().get(0);
    assert_eq!(total, rows, "{case}: full index scan");
    c.batch_execute("RESET enable_seqscan").unwrap();
}

#[test]
fn damaged_pages_report_xx002_and_reindex_repairs() {
    let cluster = Cluster::create("corruption", 54391, "autovacuum = off");
    let mut c = cluster.connect("postgres");
    c.batch_execute(
        "CREATE EXTENSION strata;
         CREATE EXTENSION pageinspect;
         CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16));
         CREATE TABLE other (id int);
         INSERT INTO other SELECT generate_series(1, 100);",
    )
    .unwrap();
    let values: Vec<String> = (0..2000).map(|id| format!("({id}, '{}')", vector_of(id))).collect();
    c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (m = 8)").unwrap();

    let cases = [
        (Block::Meta, Damage::Zero),
        (Block::Meta, Damage::RandomContent),
        // Metapage fields: the sealed segment's first block, the writing
        // segment's head block, the sealed count (out of range).
        (Block::Meta, Damage::Word(96, 1_000_000)),
        (Block::Meta, Damage::Word(32, 1_000_000)),
        (Block::Meta, Damage::Word(16, 100_000)),
        // Segment meta page: the node count.
        (Block::SegmentMeta, Damage::Word(20, 1_000_000)),
        // Its code section: the code page count; a parameter that is NaN.
        (Block::SegmentMeta, Damage::Word(100, 1_000_000)),
        (Block::CodeParams, Damage::Word(0, f32::NAN.to_bits())),
        (Block::SegmentMeta, Damage::RandomContent),
        (Block::SegmentNodes, Damage::RandomContent),
        (Block::SegmentNodes, Damage::RandomContentAndSpecial),
        (Block::WritingLog, Damage::RandomContent),
        (Block::WritingLog, Damage::Zero),
    ];
    let mut seed = 7u64;
    let mut next_id = 10_000i64;
    for (block, how) in cases {
        let case = format!("{block:?} {how:?}");
        // A few rows in the writing segment: its pages are the file's last.
        let values: Vec<String> = (next_id..next_id + 40).map(|id| format!("({id}, '{}')", vector_of(id))).collect();
        c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
        let sample = [0, 1999, next_id, next_id + 39];
        next_id += 40;
        // Block 0 is the metapage, then the sealed segment (its meta page,
        // node pages, upper-layer pages, then the code section, whose first
        // page the segment's meta page names at offset 88), then the
        // writing segment's pages.
        let params_block: i32 = c
            .query_one(
                "SELECT 1 + get_byte(p, 112) + 256 * get_byte(p, 113) + 65536 * get_byte(p, 114) + 16777216 * get_byte(p, 115)
                 FROM get_raw_page('items_emb', 1) p",
                &[],
            )
            .unwrap()
            .get(0);
        let pick = |nblocks: usize| match block {
            Block::Meta => 0,
            Block::SegmentMeta => 1,
            Block::SegmentNodes => 2,
            Block::CodeParams => params_block as usize,
            Block::WritingLog => nblocks - 1,
        };
        c = damage_on_disk(&cluster, c, pick, how, &mut seed);
        let started: String = c.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0);
        c.batch_execute("SET enable_seqscan = off").unwrap();
        expect_corrupted(&mut c, FULL_SCAN, &case);
        if let Block::Meta = block {
            expect_corrupted(&mut c, &format!("INSERT INTO items VALUES (-1, '{}')", vector_of(1)), &case);
        }
        // The server and the session carry on.
        let n: i64 = c.query_one("SELECT count(*) FROM other", &[]).unwrap().get(0);
        assert_eq!(n, 100, "{case}");
        let mut c2 = cluster.connect("postgres");
        let still: String = c2.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0);
        assert_eq!(started, still, "{case}: the server restarted");
        c.batch_execute("RESET enable_seqscan").unwrap();

        c.batch_execute("REINDEX INDEX items_emb").unwrap();
        assert_finds_rows(&mut c, &sample, &case);
    }
}

/// Whether the first sealed segment of `items_emb` is spread over extents
/// (the top bit of its page count in the metapage's segment directory, at
/// byte 24 + 96 + 4 of block 0).
fn first_segment_mapped(c: &mut Client) -> bool {
    c.query_one("SELECT get_byte(get_raw_page('items_emb', 0), 24 + 96 + 7) >= 128", &[]).unwrap().get(0)
}

/// A segment spread over extents lists them on a map page; a damaged map
/// is reported like any other damaged page, and REINDEX repairs it.
#[test]
fn damaged_extent_map_reports_xx002() {
    let cluster = Cluster::create("corruption_map", 54393, "autovacuum = off");
    let mut c = cluster.connect("postgres");
    c.batch_execute(
        "CREATE EXTENSION strata; CREATE EXTENSION pageinspect;
         CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16));",
    )
    .unwrap();
    let values: Vec<String> = (0..2000).map(|id| format!("({id}, '{}')", vector_of(id))).collect();
    c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (m = 8)").unwrap();
    let cases = [
        Damage::Zero,
        Damage::RandomContentAndSpecial,
        // The extent count, then the first extent's first block.
        Damage::Word(0, 100_000),
        Damage::Word(8, 1_000_000),
    ];
    let mut seed = 11u64;
    let mut next_id = 10_000i64;
    for how in cases {
        let case = format!("extent map {how:?}");
        // Each merge writes a segment larger than every free run the earlier
        // ones left, so within a few it takes several runs and a map.
        let mut merges = 0;
        while !first_segment_mapped(&mut c) {
            assert!(merges < 10, "{case}: no merge spread its segment over extents");
            for _ in 0..4 {
                let values: Vec<String> = (next_id..next_id + 100).map(|id| format!("({id}, '{}')", vector_of(id))).collect();
                c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
                next_id += 100;
            }
            c.query_one("SELECT strata_optimize('items_emb')", &[]).unwrap();
            merges += 1;
        }
        let map_block: i32 = c
            .query_one(
                "SELECT get_byte(p, 120) + 256 * get_byte(p, 121) + 65536 * get_byte(p, 122)
                   FROM (SELECT get_raw_page('items_emb', 0) AS p) m",
                &[],
            )
            .unwrap()
            .get(0);
        c = damage_on_disk(&cluster, c, |_| map_block as usize, how, &mut seed);
        c.batch_execute("SET enable_seqscan = off").unwrap();
        expect_corrupted(&mut c, FULL_SCAN, &case);
        c.batch_execute("RESET enable_seqscan").unwrap();
        c.batch_execute("REINDEX INDEX items_emb").unwrap();
        assert_finds_rows(&mut c, &[0, 1999, next_id - 1], &case);
    }
}

/// Format 4 (node records packed across page boundaries; 100-d at m = 16,
/// 552-byte records): garbage in a node page, whose first bytes are the
/// tail of a record cut in two, reports XX002 too, and REINDEX repairs it.
#[test]
fn damaged_packed_node_pages_report_xx002() {
    const DIMS: u64 = 100;
    let vector = |id: i64| strata_integration::test_vector(id, DIMS);
    let cluster = Cluster::create("corruption_packed", 54394, "autovacuum = off");
    let mut c = cluster.connect("postgres");
    c.batch_execute(&format!(
        "CREATE EXTENSION strata; CREATE EXTENSION pageinspect;
         CREATE TABLE items (id bigint PRIMARY KEY, emb vector({DIMS}));"
    ))
    .unwrap();
    let values: Vec<String> = (0..2000).map(|id| format!("({id}, '{}')", vector(id))).collect();
    c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops)").unwrap();
    let zero = format!("[{}]", vec!["0"; DIMS as usize].join(","));
    let full_scan = format!("SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> '{zero}') s");
    let mut seed = 13u64;
    // Blocks 2.. are the segment's node pages (block 1 is its meta page).
    for block in [2usize, 4, 7] {
        let version: i32 =
            c.query_one("SELECT get_byte(p, 28) + 256 * get_byte(p, 29) FROM get_raw_page('items_emb', 1) p", &[]).unwrap().get(0);
        assert_eq!(version, 4, "the segment should have packed records");
        let case = format!("packed node page {block}");
        c = damage_on_disk(&cluster, c, |_| block, Damage::RandomContent, &mut seed);
        c.batch_execute("SET enable_seqscan = off").unwrap();
        expect_corrupted(&mut c, &full_scan, &case);
        c.batch_execute("REINDEX INDEX items_emb").unwrap();
        for id in [0i64, 777, 1999] {
            let found: i64 =
                c.query_one(&format!("SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", vector(id)), &[]).unwrap().get(0);
            assert_eq!(found, id, "{case}: row {id} not found through the repaired index");
        }
        let total: i64 = c.query_one(&full_scan, &[]).unwrap().get(0);
        assert_eq!(total, 2000, "{case}: full index scan after REINDEX");
        c.batch_execute("RESET enable_seqscan").unwrap();
    }
}
