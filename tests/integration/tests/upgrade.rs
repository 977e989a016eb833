//! `ALTER EXTENSION strata UPDATE` from the first released version (0.1.0) to the current
//! one: data, `vectors` indexes and BYOV registrations made under 0.1.0 keep answering the
//! same queries through the index, and the extension's objects after the update are exactly
//! those of a fresh `CREATE EXTENSION strata` (so an object missing from, or different in, an
//! upgrade script fails this test, which lists the differing objects).

use std::collections::BTreeSet;
use strata_integration::{signed_test_vector, Server};

const FIRST_RELEASE: &str = "0.1.0";

/// One line (or block) per property of every object of the extension, without OIDs, so two
/// databases can be compared as sets of lines.
const FINGERPRINT: &str = r#"
WITH ext AS (SELECT e.oid, e.extconfig, e.extcondition, e.extrelocatable, e.extnamespace
               FROM pg_catalog.pg_extension e WHERE e.extname = 'strata'),
m AS (SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d, ext
       WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = ext.oid
         AND d.deptype = 'e'),
member_procs AS (SELECT p.* FROM pg_catalog.pg_proc p JOIN m ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid),
member_rels AS (SELECT c.* FROM pg_catalog.pg_class c JOIN m ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid),
member_families AS (
    SELECT f.oid FROM pg_catalog.pg_opfamily f JOIN m ON m.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND m.objid = f.oid
    UNION
    SELECT c.opcfamily FROM pg_catalog.pg_opclass c JOIN m ON m.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND m.objid = c.oid)
SELECT line FROM (
    SELECT 'member ' || pg_catalog.pg_describe_object(m.classid, m.objid, m.objsubid) AS line FROM m
    UNION ALL
    SELECT pg_catalog.format('extension config=%s condition=%s relocatable=%s schema=%s',
                             ext.extconfig::pg_catalog.regclass[], ext.extcondition, ext.extrelocatable,
                             ext.extnamespace::pg_catalog.regnamespace) FROM ext
    UNION ALL
    SELECT pg_catalog.format('comment on %s: %s', pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_catalog.pg_description d JOIN m ON d.classoid = m.classid AND d.objoid = m.objid
    UNION ALL
    SELECT pg_catalog.format('function %s owner=%s acl=%s%s', p.oid::pg_catalog.regprocedure,
                             pg_catalog.pg_get_userbyid(p.proowner), p.proacl,
                             CASE WHEN p.prokind = 'a' THEN
                                 (SELECT pg_catalog.format(' aggregate sfunc=%s stype=%s final=%s combine=%s serial=%s deserial=%s init=%s kind=%s',
                                         a.aggtransfn::pg_catalog.oid::pg_catalog.regprocedure, a.aggtranstype::pg_catalog.regtype,
                                         a.aggfinalfn::pg_catalog.oid::pg_catalog.regprocedure, a.aggcombinefn::pg_catalog.oid::pg_catalog.regprocedure,
                                         a.aggserialfn::pg_catalog.oid::pg_catalog.regprocedure, a.aggdeserialfn::pg_catalog.oid::pg_catalog.regprocedure,
                                         a.agginitval, a.aggkind)
                                    FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
                             ELSE E'\n' || pg_catalog.pg_get_functiondef(p.oid) END)
      FROM member_procs p
    UNION ALL
    SELECT pg_catalog.format('type %s: type=%s in=%s out=%s recv=%s send=%s modin=%s modout=%s analyze=%s subscript=%s len=%s byval=%s align=%s storage=%s category=%s preferred=%s array=%s elem=%s owner=%s acl=%s',
                             t.oid::pg_catalog.regtype, t.typtype, t.typinput::pg_catalog.oid::pg_catalog.regprocedure,
                             t.typoutput::pg_catalog.oid::pg_catalog.regprocedure, t.typreceive::pg_catalog.oid::pg_catalog.regprocedure,
                             t.typsend::pg_catalog.oid::pg_catalog.regprocedure, t.typmodin::pg_catalog.oid::pg_catalog.regprocedure,
                             t.typmodout::pg_catalog.oid::pg_catalog.regprocedure, t.typanalyze::pg_catalog.oid::pg_catalog.regprocedure,
                             t.typsubscript::pg_catalog.oid::pg_catalog.regprocedure,
                             t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory, t.typispreferred,
                             t.typarray::pg_catalog.regtype, t.typelem::pg_catalog.regtype, pg_catalog.pg_get_userbyid(t.typowner), t.typacl)
      FROM pg_catalog.pg_type t JOIN m ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
    UNION ALL
    SELECT pg_catalog.format('type %s attribute %s %s', a.attrelid::pg_catalog.regclass, a.attname,
                             pg_catalog.format_type(a.atttypid, a.atttypmod))
      FROM pg_catalog.pg_type t JOIN m ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid AND t.typtype = 'c' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT pg_catalog.format('operator %s: code=%s result=%s commutator=%s negator=%s restrict=%s join=%s merges=%s hashes=%s',
                             o.oid::pg_catalog.regoperator, o.oprcode::pg_catalog.oid::pg_catalog.regprocedure, o.oprresult::pg_catalog.regtype,
                             NULLIF(o.oprcom, 0)::pg_catalog.regoperator, NULLIF(o.oprnegate, 0)::pg_catalog.regoperator,
                             o.oprrest::pg_catalog.oid::pg_catalog.regprocedure, o.oprjoin::pg_catalog.oid::pg_catalog.regprocedure,
                             o.oprcanmerge, o.oprcanhash)
      FROM pg_catalog.pg_operator o JOIN m ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND m.objid = o.oid
    UNION ALL
    SELECT pg_catalog.format('operator class %s using %s for %s: default=%s family=%s keytype=%s', c.opcname, am.amname,
                             c.opcintype::pg_catalog.regtype, c.opcdefault, f.opfname, NULLIF(c.opckeytype, 0)::pg_catalog.regtype)
      FROM pg_catalog.pg_opclass c JOIN m ON m.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND m.objid = c.oid
      JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod JOIN pg_catalog.pg_opfamily f ON f.oid = c.opcfamily
    UNION ALL
    SELECT pg_catalog.format('%s: purpose=%s sortfamily=%s', pg_catalog.pg_describe_object('pg_catalog.pg_amop'::pg_catalog.regclass, ao.oid, 0),
                             ao.amoppurpose, (SELECT sf.opfname FROM pg_catalog.pg_opfamily sf WHERE sf.oid = ao.amopsortfamily))
      FROM pg_catalog.pg_amop ao WHERE ao.amopfamily IN (SELECT oid FROM member_families)
    UNION ALL
    SELECT pg_catalog.pg_describe_object('pg_catalog.pg_amproc'::pg_catalog.regclass, ap.oid, 0)
      FROM pg_catalog.pg_amproc ap WHERE ap.amprocfamily IN (SELECT oid FROM member_families)
    UNION ALL
    SELECT pg_catalog.format('%s: function=%s context=%s method=%s',
                             pg_catalog.pg_describe_object('pg_catalog.pg_cast'::pg_catalog.regclass, c.oid, 0),
                             NULLIF(c.castfunc, 0)::pg_catalog.regprocedure, c.castcontext, c.castmethod)
      FROM pg_catalog.pg_cast c JOIN m ON m.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND m.objid = c.oid
    UNION ALL
    SELECT pg_catalog.format('access method %s: type=%s handler=%s', a.amname, a.amtype, a.amhandler::pg_catalog.oid::pg_catalog.regprocedure)
      FROM pg_catalog.pg_am a JOIN m ON m.classid = 'pg_catalog.pg_am'::pg_catalog.regclass AND m.objid = a.oid
    UNION ALL
    SELECT pg_catalog.format('schema %s: owner=%s acl=%s', n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl)
      FROM pg_catalog.pg_namespace n JOIN m ON m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND m.objid = n.oid
    UNION ALL
    SELECT pg_catalog.format('event trigger %s: on %s function %s enabled=%s tags=%s', e.evtname, e.evtevent,
                             e.evtfoid::pg_catalog.regprocedure, e.evtenabled, e.evttags)
      FROM pg_catalog.pg_event_trigger e JOIN m ON m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND m.objid = e.oid
    UNION ALL
    SELECT pg_catalog.format('relation %s: kind=%s owner=%s acl=%s rls=%s force_rls=%s options=%s', c.oid::pg_catalog.regclass, c.relkind,
                             pg_catalog.pg_get_userbyid(c.relowner), c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.reloptions)
      FROM member_rels c
    UNION ALL
    SELECT pg_catalog.format('relation %s column %s %s notnull=%s default=%s storage=%s acl=%s', a.attrelid::pg_catalog.regclass, a.attname,
                             pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attstorage, a.attacl)
      FROM member_rels c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT pg_catalog.format('relation %s constraint %s: %s', co.conrelid::pg_catalog.regclass, co.conname, pg_catalog.pg_get_constraintdef(co.oid))
      FROM pg_catalog.pg_constraint co JOIN member_rels c ON c.oid = co.conrelid
    UNION ALL
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM pg_catalog.pg_index i JOIN member_rels c ON c.oid = i.indrelid
    UNION ALL
    SELECT pg_catalog.format('relation %s policy %s: cmd=%s permissive=%s roles=%s using=%s check=%s', p.polrelid::pg_catalog.regclass,
                             p.polname, p.polcmd, p.polpermissive,
                             (SELECT pg_catalog.array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END ORDER BY 1)
                                FROM pg_catalog.unnest(p.polroles) r),
                             pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_catalog.pg_policy p JOIN member_rels c ON c.oid = p.polrelid
    UNION ALL
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(tg.oid)
      FROM pg_catalog.pg_trigger tg JOIN member_rels c ON c.oid = tg.tgrelid WHERE NOT tg.tgisinternal
    UNION ALL
    SELECT pg_catalog.format('view %s: %s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_viewdef(c.oid))
      FROM member_rels c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT pg_catalog.format('sequence %s: type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s', s.seqrelid::pg_catalog.regclass,
                             s.seqtypid::pg_catalog.regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
      FROM pg_catalog.pg_sequence s JOIN member_rels c ON c.oid = s.seqrelid
) lines ORDER BY 1
"#;

fn fingerprint(c: &mut postgres::Client) -> BTreeSet<String> {
    c.query(FINGERPRINT, &[]).unwrap().iter().map(|r| r.get::<_, String>(0)).collect()
}

const DIMS: u64 = 12;
const ROWS: i64 = 200;

/// (index name, column, distance operator, query expression): one per index made under 0.1.0.
const QUERIES: &[(&str, &str, &str, &str)] = &[
    ("items_v_l2", "v", "<->", "'{q}'::vector"),
    ("items_v_cos", "v", "<=>", "'{q}'::vector"),
    ("items_h_dot", "h", "<#>", "'{q}'::vector::vecf16"),
    ("items_b_jaccard", "b", "<~>", "binarize('{q}'::vector)"),
];

/// The top 10 through the index (asserting the plan uses `index`) as (id, distance) lines,
/// in a form that does not depend on the order of equal distances.
fn top10(c: &mut postgres::Client, index: &str, col: &str, op: &str, query: &str) -> Vec<String> {
    let q = query.replace("{q}", &signed_test_vector(-7, DIMS));
    let sql = format!("SELECT id, ({col} {op} {q})::text FROM items ORDER BY {col} {op} {q} LIMIT 10");
    c.batch_execute("SET enable_seqscan = off; SET strata.ef_search = 1000").unwrap();
    let plan: Vec<String> = c.query(&format!("EXPLAIN (COSTS OFF) {sql}"), &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert!(
        plan.iter().any(|l| l.contains(&format!("Index Scan using {index}"))),
        "{sql} does not use {index}:\n{}",
        plan.join("\n")
    );
    let rows: Vec<(i32, String)> = c.query(&sql, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    c.batch_execute("RESET enable_seqscan; RESET strata.ef_search").unwrap();
    canonical(rows)
}

/// Distances in order, and the ids of every row not tied with the last one (whose choice
/// among equals is arbitrary), sorted by (distance, id).
fn canonical(rows: Vec<(i32, String)>) -> Vec<String> {
    let last = rows.last().map(|r| r.1.clone());
    let mut out: Vec<String> = rows.iter().map(|r| format!("d {}", r.1)).collect();
    let mut ids: Vec<&(i32, String)> = rows.iter().filter(|r| Some(&r.1) != last.as_ref()).collect();
    ids.sort_by(|a, b| a.1.parse::<f64>().unwrap().total_cmp(&b.1.parse::<f64>().unwrap()).then(a.0.cmp(&b.0)));
    out.extend(ids.iter().map(|r| format!("id {} at {}", r.0, r.1)));
    out
}

fn results(c: &mut postgres::Client) -> Vec<Vec<String>> {
    let mut all: Vec<Vec<String>> = QUERIES.iter().map(|(i, col, op, q)| top10(c, i, col, op, q)).collect();
    let search: Vec<String> = c
        .query(
            &format!("SELECT record_id, score::text FROM strata.search('doc', 'body', '{}', k => 5)", signed_test_vector(-7, DIMS)),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    all.push(search);
    let content: String = c
        .query_one("SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM items t", &[])
        .unwrap()
        .get(0);
    all.push(vec![content]);
    all
}

#[test]
fn update_from_first_release_keeps_data_and_matches_a_fresh_install() {
    let server = Server::from_env();
    let mut old = server.empty_database("it_upgrade_old");

    let paths: Vec<String> = old
        .query(
            "SELECT target FROM pg_extension_update_paths('strata') WHERE source = $1 AND path IS NOT NULL",
            &[&FIRST_RELEASE],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let current: String = old
        .query_one("SELECT default_version FROM pg_available_extensions WHERE name = 'strata'", &[])
        .unwrap()
        .get(0);
    assert_ne!(current, FIRST_RELEASE, "the crate version must be bumped past the first release");
    assert!(paths.contains(&current), "no update path from {FIRST_RELEASE} to {current}; paths: {paths:?}");

    old.batch_execute(&format!("CREATE EXTENSION strata VERSION '{FIRST_RELEASE}'")).unwrap();
    let v: String = old.query_one("SELECT extversion FROM pg_extension WHERE extname = 'strata'", &[]).unwrap().get(0);
    assert_eq!(v, FIRST_RELEASE);

    // Data and indexes made by 0.1.0.
    old.batch_execute(&format!(
        "CREATE TABLE items (id int PRIMARY KEY, v vector({DIMS}), h vecf16({DIMS}), b bvector({DIMS}), vs vector[]);
         CREATE TABLE doc (id int PRIMARY KEY, body text);"
    ))
    .unwrap();
    for id in 0..ROWS {
        let t = signed_test_vector(id, DIMS);
        old.execute(
            &format!("INSERT INTO items VALUES ({id}, '{t}', '{t}', binarize('{t}'), ARRAY['{t}'::vector, '[1,2]'])"),
            &[],
        )
        .unwrap();
    }
    old.batch_execute(
        "INSERT INTO items VALUES (-1, NULL, NULL, NULL, NULL);
         CREATE INDEX items_v_l2 ON items USING vectors (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
         CREATE INDEX items_v_cos ON items USING vectors (v cos_ops);
         CREATE INDEX items_h_dot ON items USING vectors (h vecf16_dot_ops);
         CREATE INDEX items_b_jaccard ON items USING vectors (b bvector_jaccard_ops);
         INSERT INTO doc SELECT i, 'doc ' || i FROM generate_series(1, 50) i;
         SELECT strata.create_index('doc', 'body', 12, 'euclidean');",
    )
    .unwrap();
    let ids: Vec<i32> = (1..=50).collect();
    let vecs: Vec<String> = ids.iter().map(|i| signed_test_vector(*i as i64, DIMS)).collect();
    old.execute("SELECT strata.upsert_vectors(1, $1::int[], $2::text[]::vector[])", &[&ids, &vecs]).unwrap();
    let before = results(&mut old);

    old.batch_execute("ALTER EXTENSION strata UPDATE").unwrap();
    let v: String = old.query_one("SELECT extversion FROM pg_extension WHERE extname = 'strata'", &[]).unwrap().get(0);
    assert_eq!(v, current, "ALTER EXTENSION strata UPDATE ends at the default version");
    let lib: String = old.query_one("SELECT strata_version()", &[]).unwrap().get(0);
    assert_eq!(lib, current);

    let after = results(&mut old);
    assert_eq!(before, after, "query results changed across the update");
    // Still writable and searchable through the same indexes after the update.
    for id in ROWS..ROWS + 20 {
        let t = signed_test_vector(id, DIMS);
        old.execute(&format!("INSERT INTO items VALUES ({id}, '{t}', '{t}', binarize('{t}'))"), &[]).unwrap();
    }
    let near: i32 = old
        .query_one(&format!("SELECT id FROM items ORDER BY v <-> '{}' LIMIT 1", signed_test_vector(ROWS + 5, DIMS)), &[])
        .unwrap()
        .get(0);
    assert_eq!(near as i64, ROWS + 5);
    old.batch_execute("SELECT strata.create_index('doc', 'body', 3)").unwrap();

    // The catalog after the update equals a fresh install of the current version.
    let mut fresh = server.empty_database("it_upgrade_fresh");
    fresh.batch_execute("CREATE EXTENSION strata").unwrap();
    let (updated, installed) = (fingerprint(&mut old), fingerprint(&mut fresh));
    assert!(installed.len() > 100, "fingerprint query found too little: {}", installed.len());
    let missing: Vec<&String> = installed.difference(&updated).collect();
    let extra: Vec<&String> = updated.difference(&installed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the {FIRST_RELEASE} -> {current} update does not produce a fresh install's objects \
         (fix sql/strata--*--{current}.sql)\n\n== in a fresh install, missing or different after the update ({}):\n{}\n\n\
         == after the update, not in a fresh install ({}):\n{}\n",
        missing.len(),
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
        extra.len(),
        extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
    );
}
