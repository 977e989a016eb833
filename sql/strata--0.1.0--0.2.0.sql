-- strata 0.1.0 -> 0.2.0 (ALTER EXTENSION strata UPDATE).
-- Holds every SQL difference between the 0.1.0 install script (sql/strata--0.1.0.sql) and the
-- 0.2.0 one that cargo pgrx generates from sql/types.sql, sql/am.sql, sql/byov.sql and the
-- #[pg_extern] functions. tests/integration/tests/upgrade.rs compares the catalog after this
-- update with a fresh CREATE EXTENSION and lists every object missing or different here.
--
-- Adding SQL to 0.2.0 (new types, operators, opclasses, functions): append the same statements
-- here, in dependency order, with @extschema@ as in the source files; changed functions as
-- CREATE OR REPLACE (or DROP and CREATE when the signature or return type changes), new
-- configuration tables with their pg_extension_config_dump call. 0.2.0 is unreleased until
-- tagged, so this file may still change; after a release, changes go into a new A--B script.
--
-- The new strata.so keeps every C symbol 0.1.0 declares (the binary receive functions now
-- validate through strata_core::wire, same messages). 0.2.0 adds the types svector and veci8
-- (copies of sql/svector.sql and sql/veci8.sql) and the superuser-only strata_debug_panic() of
-- src/debug.rs, and replaces BYOV functions and the view strata.indexes (copies from
-- sql/byov.sql, at the end).

-- ======================================================= from sql/svector.sql
-- strata: svector, the sparse vector type (C functions in src/svector.rs).
-- Text forms: '{1:0.5,7:2}/10' (1-based indices) and the dense '[0.5,0,...]'.
CREATE TYPE svector;
CREATE FUNCTION svector_in(cstring, oid, integer) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_out(svector) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_svector_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_svector_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_recv(internal, oid, integer) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_send(svector) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_svector_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE svector (
    INPUT = svector_in, OUTPUT = svector_out,
    TYPMOD_IN = svector_typmod_in, TYPMOD_OUT = vector_typmod_out,
    RECEIVE = svector_recv, SEND = svector_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int, STORAGE = extended
);
COMMENT ON TYPE svector IS 'sparse vector of up to 1048575 dimensions; text form {index:value,...}/dims with 1-based indices';
CREATE FUNCTION svector(svector, integer, boolean) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (svector AS svector) WITH FUNCTION svector(svector, integer, boolean) AS IMPLICIT;

CREATE FUNCTION vector_to_svector(vector, integer, boolean) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_vector_to_svector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_to_vector(svector, integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_svector_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (vector AS svector) WITH FUNCTION vector_to_svector(vector, integer, boolean) AS ASSIGNMENT;
CREATE CAST (svector AS vector) WITH FUNCTION svector_to_vector(svector, integer, boolean) AS ASSIGNMENT;
-- to_svector(dims, indices, values): indices are 1-based like the text form.
CREATE FUNCTION to_svector(integer, integer[], real[]) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_to_svector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_dims(svector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_svector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_norm(svector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_svector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Number of stored (non-zero) elements.
CREATE FUNCTION svector_nnz(svector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_svector_nnz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION svector_l2(svector, svector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_svector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_l2, COMMUTATOR = <->);
CREATE FUNCTION svector_negative_dot(svector, svector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_svector_negative_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION svector_cosine(svector, svector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_svector_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_cosine, COMMUTATOR = <=>);

CREATE FUNCTION svector_cmp(svector, svector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_svector_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_lt(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR < (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE FUNCTION svector_le(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <= (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE FUNCTION svector_eq(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE FUNCTION svector_ne(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <> (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE FUNCTION svector_ge(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >= (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION svector_gt(svector, svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR > (LEFTARG = svector, RIGHTARG = svector, PROCEDURE = svector_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
-- Support function 2 of each vectors operator class: what the index stores
-- (element type, metric, svector or not), as an int4 code (src/am/opclass.rs).
-- 0.1.0 found it from the name of support function 1.
CREATE FUNCTION _strata_space_vector_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_vector_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vector_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_vector_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vector_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_vecf16_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vecf16_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_vecf16_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vecf16_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_vecf16_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_vecf16_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_bvector_hamming(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_bvector_hamming' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_bvector_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_bvector_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_bvector_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_bvector_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_bvector_jaccard(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_bvector_jaccard' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_svector_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_svector_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_svector_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_veci8_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_veci8_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_veci8_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER OPERATOR FAMILY vector_l2_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_l2(internal);
ALTER OPERATOR FAMILY vector_dot_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_dot(internal);
ALTER OPERATOR FAMILY vector_cos_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_cos(internal);
ALTER OPERATOR FAMILY l2_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_l2(internal);
ALTER OPERATOR FAMILY dot_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_dot(internal);
ALTER OPERATOR FAMILY cos_ops USING vectors ADD FUNCTION 2 (vector, vector) _strata_space_vector_cos(internal);
ALTER OPERATOR FAMILY vecf16_l2_ops USING vectors ADD FUNCTION 2 (vecf16, vecf16) _strata_space_vecf16_l2(internal);
ALTER OPERATOR FAMILY vecf16_dot_ops USING vectors ADD FUNCTION 2 (vecf16, vecf16) _strata_space_vecf16_dot(internal);
ALTER OPERATOR FAMILY vecf16_cos_ops USING vectors ADD FUNCTION 2 (vecf16, vecf16) _strata_space_vecf16_cos(internal);
ALTER OPERATOR FAMILY bvector_l2_ops USING vectors ADD FUNCTION 2 (bvector, bvector) _strata_space_bvector_hamming(internal);
ALTER OPERATOR FAMILY bvector_dot_ops USING vectors ADD FUNCTION 2 (bvector, bvector) _strata_space_bvector_dot(internal);
ALTER OPERATOR FAMILY bvector_cos_ops USING vectors ADD FUNCTION 2 (bvector, bvector) _strata_space_bvector_cos(internal);
ALTER OPERATOR FAMILY bvector_jaccard_ops USING vectors ADD FUNCTION 2 (bvector, bvector) _strata_space_bvector_jaccard(internal);

CREATE OPERATOR CLASS svector_ops DEFAULT FOR TYPE svector USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 svector_cmp(svector, svector);

-- vectors index support: the index stores svectors densified to f32, so
-- indexed columns are limited to 65535 dimensions.
CREATE OPERATOR CLASS svector_l2_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <-> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_l2(svector, svector),
    FUNCTION 2 _strata_space_svector_l2(internal);
CREATE OPERATOR CLASS svector_dot_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <#> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_negative_dot(svector, svector),
    FUNCTION 2 _strata_space_svector_dot(internal);
CREATE OPERATOR CLASS svector_cos_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <=> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_cosine(svector, svector),
    FUNCTION 2 _strata_space_svector_cos(internal);

-- ========================================================= from sql/veci8.sql
-- strata: veci8, vectors quantised to int8 with one scale per vector
-- (C functions in src/veci8.rs; quantisation in strata_core::int8).
CREATE TYPE veci8;
CREATE FUNCTION veci8_in(cstring, oid, integer) RETURNS veci8
    AS 'MODULE_PATHNAME', 'strata_veci8_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_out(veci8) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_veci8_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_veci8_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_recv(internal, oid, integer) RETURNS veci8
    AS 'MODULE_PATHNAME', 'strata_veci8_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_send(veci8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_veci8_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE veci8 (
    INPUT = veci8_in, OUTPUT = veci8_out,
    TYPMOD_IN = veci8_typmod_in, TYPMOD_OUT = vector_typmod_out,
    RECEIVE = veci8_recv, SEND = veci8_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int, STORAGE = extended
);
COMMENT ON TYPE veci8 IS 'vector quantised to int8 codes with one scale per vector (error at most max|x|/254 per element)';
CREATE FUNCTION veci8(veci8, integer, boolean) RETURNS veci8
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (veci8 AS veci8) WITH FUNCTION veci8(veci8, integer, boolean) AS IMPLICIT;

CREATE FUNCTION vector_to_veci8(vector, integer, boolean) RETURNS veci8
    AS 'MODULE_PATHNAME', 'strata_vector_to_veci8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_to_vector(veci8, integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_veci8_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (vector AS veci8) WITH FUNCTION vector_to_veci8(vector, integer, boolean) AS ASSIGNMENT;
CREATE CAST (veci8 AS vector) WITH FUNCTION veci8_to_vector(veci8, integer, boolean) AS ASSIGNMENT;
CREATE FUNCTION vector_dims(veci8) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_norm(veci8) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_veci8_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION veci8_l2(veci8, veci8) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_veci8_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = veci8, RIGHTARG = veci8, FUNCTION = veci8_l2, COMMUTATOR = <->);
CREATE FUNCTION veci8_negative_dot(veci8, veci8) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_veci8_negative_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = veci8, RIGHTARG = veci8, FUNCTION = veci8_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION veci8_cosine(veci8, veci8) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_veci8_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = veci8, RIGHTARG = veci8, FUNCTION = veci8_cosine, COMMUTATOR = <=>);

CREATE FUNCTION veci8_cmp(veci8, veci8) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_veci8_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION veci8_lt(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR < (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE FUNCTION veci8_le(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <= (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE FUNCTION veci8_eq(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE FUNCTION veci8_ne(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <> (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE FUNCTION veci8_ge(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >= (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION veci8_gt(veci8, veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR > (LEFTARG = veci8, RIGHTARG = veci8, PROCEDURE = veci8_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR CLASS veci8_ops DEFAULT FOR TYPE veci8 USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 veci8_cmp(veci8, veci8);

CREATE OPERATOR CLASS veci8_l2_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <-> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_l2(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_l2(internal);
CREATE OPERATOR CLASS veci8_dot_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <#> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_negative_dot(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_dot(internal);
CREATE OPERATOR CLASS veci8_cos_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <=> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_cosine(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_cos(internal);

-- ========================================================== from src/debug.rs
CREATE FUNCTION "strata_debug_panic"(
	"place" TEXT DEFAULT 'backend'
) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'strata_debug_panic_wrapper';
REVOKE EXECUTE ON FUNCTION strata_debug_panic(text) FROM PUBLIC;

-- ======================================================= from sql/byov.sql (issue 17)
-- Search order and pages, the status flip and lock order, RushDB's key names, filters
-- ($id, $type, array columns), k + skip bounds; the same definitions as sql/byov.sql.
DROP FUNCTION strata._search_sql(strata.indexes_catalog, jsonb);

-- The JSON-filter compiler moved into Rust (strata._compile_filter, issue 17).
DROP FUNCTION strata._filter_sql(regclass, jsonb, text[], text);
DROP FUNCTION strata._column_filter_sql(regclass, text, jsonb, text[], text);

-- RushDB's `where` as a SQL condition over the label row `l`, compiled in Rust
-- (crates/strata-byov/src/filter.rs) from the label's columns as the catalog describes them.
-- Values are never interpolated: they are read from the filter itself, passed as parameter
-- `param`, by path.
CREATE FUNCTION strata._compile_filter(filter jsonb, relation text, record_key text, names text[],
                                       type_names text[], element_type_names text[],
                                       base_is_jsonb boolean[], categories text[], param text)
    RETURNS text AS 'MODULE_PATHNAME', 'strata_compile_filter_wrapper' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- A domain's base type (the type itself for others).
CREATE FUNCTION strata._base_type(t oid) RETURNS oid
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WHILE (SELECT y.typtype = 'd' FROM pg_type y WHERE y.oid = t) LOOP
        SELECT y.typbasetype INTO t FROM pg_type y WHERE y.oid = t;
    END LOOP;
    RETURN t;
END $$;

-- Each live user column: its name, declared type, and for an array (other than jsonb itself)
-- its element type; then whether the (element's) base type through domains is jsonb and its
-- type category, which decide how operands are cast and which operators apply. record_key is
-- the label's primary key ((strata._record_key(rel)).attname, which the callers have at hand).
-- The PL/pgSQL strata._base_type runs for domains only: this runs on every search.
CREATE FUNCTION strata._filter_sql(rel regclass, filter jsonb, param text, record_key name) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT strata._compile_filter(filter, rel::text, record_key,
               coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}'),
               coalesce(array_agg(format_type(a.atttypid, NULL) ORDER BY a.attnum), '{}'),
               coalesce(array_agg(CASE WHEN t.is_array THEN format_type(t.typelem, NULL) END ORDER BY a.attnum), '{}'),
               coalesce(array_agg(b.oid = 'jsonb'::regtype ORDER BY a.attnum), '{}'),
               coalesce(array_agg(b.typcategory::text ORDER BY a.attnum), '{}'),
               param)
      FROM pg_attribute a
     JOIN pg_type d ON d.oid = a.atttypid
     CROSS JOIN LATERAL (SELECT y.typcategory = 'A' AND y.typelem <> 0 AS is_array, y.typelem, y.oid FROM pg_type y
                          WHERE y.oid = CASE WHEN d.typtype = 'd' THEN strata._base_type(d.oid) ELSE d.oid END) t
     LEFT JOIN pg_type e ON t.is_array AND e.oid = t.typelem
     CROSS JOIN LATERAL (SELECT y.oid, y.typcategory FROM pg_type y
                          WHERE y.oid = CASE WHEN NOT t.is_array THEN t.oid
                                             WHEN e.typtype = 'd' THEN strata._base_type(e.oid) ELSE e.oid END) b
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- Whether strata.search ranks every matching record exactly rather than streaming the ANN
-- index: always without a (valid) index; with one, when the planner estimates that the filter
-- matches at most strata.exact_search_rows records. Then computing each match's distance is
-- cheaper than streaming the index past the records the filter rejects, and exact. The choice
-- does not depend on k or skip, so all pages of a search take the same path. (VOLATILE only
-- because PostgreSQL refuses EXPLAIN in other functions; it changes nothing.)
CREATE FUNCTION strata._search_exactly(r strata.indexes_catalog, filter jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_limit bigint := coalesce(nullif(current_setting('strata.exact_search_rows', true), ''), '1000')::bigint;
    v_plan  jsonb;
    v_key   name;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
                    WHERE i.indrelid = r.vector_table AND a.amname = 'vectors' AND i.indisvalid) THEN
        RETURN true;
    ELSIF v_limit <= 0 OR filter IS NULL OR jsonb_typeof(filter) = 'null' THEN
        RETURN false;  -- no filter: every record matches, so the index is the way
    END IF;
    v_key := (strata._record_key(r.label)).attname;
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT FROM %s v JOIN %s l ON l.%I = v.record_id WHERE %s',
                   r.vector_table, r.label, v_key, strata._filter_sql(r.label, filter, '$1', v_key))
        USING filter INTO v_plan;
    RETURN (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8 <= v_limit;
END $$;

-- The score of distance d: cosine similarity 1 - cosine distance (1 for the same direction);
-- euclidean 1 / (1 + distance), in (0, 1]; dot: the dot product. Best first = smallest
-- distance first: the score never increases with the distance.
CREATE FUNCTION strata._score_sql(similarity text, d text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(CASE similarity WHEN 'cosine' THEN '(1 - %s)::real' WHEN 'euclidean' THEN '(1 / (1 + sqrt(%s)))::real'
                                  ELSE '(- %s)::real' END, d)
$$;

-- The queries of strata.search, with parameters $1 query vector, $2 filter and, for the exact
-- ranking, $3 k and $4 skip. exact: every match ranked by score then record id, whose ORDER BY
-- (on the score, not the bare distance) no index can serve. Otherwise: (record_id, score)
-- streamed from the ANN index in distance order, for strata._search_index.
CREATE FUNCTION strata._search_sql(r strata.indexes_catalog, filter jsonb, exact boolean) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_dist text := format('(v.vec OPERATOR(@extschema@.%s) $1)',
                          CASE r.similarity WHEN 'cosine' THEN '<=>' WHEN 'euclidean' THEN '<->' ELSE '<#>' END);
    v_key  name := (strata._record_key(r.label)).attname;
    v_from text := format('%s v JOIN %s l ON l.%I = v.record_id WHERE %s', r.vector_table, r.label,
                          v_key, strata._filter_sql(r.label, filter, '$2', v_key));
BEGIN
    IF exact THEN
        -- The records of the page only are turned into JSON (after the sort, not for every match).
        RETURN format('SELECT s.record_id::text, s.score, to_jsonb(l.*) FROM ('
                      'SELECT v.record_id, %s AS score FROM %s ORDER BY score DESC, v.record_id LIMIT $3 OFFSET $4) s '
                      'JOIN %s l ON l.%I = s.record_id ORDER BY s.score DESC, s.record_id',
                      strata._score_sql(r.similarity, v_dist), v_from, r.label, (strata._record_key(r.label)).attname);
    END IF;
    RETURN format('SELECT v.record_id::text, %s AS score FROM %s ORDER BY %s',
                  strata._score_sql(r.similarity, v_dist), v_from, v_dist);
END $$;

-- A page of an ANN search. The index streams rows in non-decreasing distance
-- (strata.scan_order = strict: rows the graph search finds late are dropped rather than
-- returned out of place), so every prefix of the stream holds the nearest rows of the
-- stream. The page is taken from the prefix that ends before the first row scoring below
-- the (k + skip)-th one: all rows tied with the last one needed are in it, and sorting it
-- by score and record id gives the same first k + skip rows however far past them the
-- prefix was read. So pages agree with each other and with one larger call. The margin
-- covers the rounding by which the SQL operator's distance and the index's may differ.
CREATE FUNCTION strata._search_index(r strata.indexes_catalog, query_vector @extschema@.vector, filter jsonb,
                                     k integer, skip integer)
    RETURNS TABLE (record_id text, score real, record jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET strata.scan_order = 'strict' AS $$
DECLARE
    v_need   bigint := k::bigint + skip;
    v_read   bigint := v_need + v_need / 2 + 16;
    v_sql    text := strata._search_sql(r, filter, false);
    v_key    record := strata._record_key(r.label);
    v_ids    text[];
    v_scores real[];
    v_got    bigint;
    v_cut    bigint;
    v_floor  float8;
BEGIN
    LOOP
        EXECUTE format('SELECT array_agg(s.record_id), array_agg(s.score) FROM (%s LIMIT $3) s', v_sql)
            USING query_vector, filter, v_read INTO v_ids, v_scores;
        v_got := coalesce(cardinality(v_ids), 0);
        IF v_got < v_need THEN
            v_cut := v_got;  -- the stream ran out: every row it gives is here
            EXIT;
        END IF;
        v_floor := v_scores[v_need] - 1e-4 * greatest(1, abs(v_scores[v_need]));
        SELECT min(u.o) - 1 INTO v_cut FROM unnest(v_scores) WITH ORDINALITY u(s, o)
         WHERE u.o > v_need AND u.s < v_floor;
        IF v_cut IS NOT NULL OR v_got < v_read THEN
            v_cut := coalesce(v_cut, v_got);
            EXIT;
        END IF;
        v_read := v_read * 4;  -- still tied with the last row needed: read further
    END LOOP;
    RETURN QUERY EXECUTE format(
        'SELECT u.id, u.score, to_jsonb(l.*) FROM unnest($1[1:$2], $3[1:$2]) u(id, score) '
        'JOIN %s l ON l.%I = u.id::%s ORDER BY u.score DESC, l.%I LIMIT $4 OFFSET $5',
        r.label, v_key.attname, v_key.typname, v_key.attname)
        USING v_ids, v_cut, v_scores, k, skip;
END $$;

-- Whether an index holds any vector, whoever asks (the status is public, as in the catalog).
CREATE FUNCTION strata._has_vectors(index_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table regclass := (SELECT c.vector_table FROM strata.indexes_catalog c WHERE c.id = index_id);
    v_found boolean;
BEGIN
    IF v_table IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', v_table) INTO v_found;
    RETURN v_found;
END $$;

-- Locks the records of new vectors FOR KEY SHARE and fails (23503) when one does not exist.
CREATE OR REPLACE FUNCTION strata._lock_records(r strata.indexes_catalog, ids text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       record := strata._record_key(r.label);
    locked  bigint;
    wanted  bigint;
    missing text;
BEGIN
    FOR attempt IN 1 .. 3 LOOP
        -- In record id order, the order strata's writers lock records and vectors in.
        EXECUTE format('SELECT (SELECT count(*) FROM (SELECT FROM %s l WHERE l.%I = ANY ($1::%s[]) ORDER BY l.%I '
                       'FOR KEY SHARE OF l) s), (SELECT count(DISTINCT x) FROM unnest($1::%s[]) x)',
                       r.label, k.attname, k.typname, k.attname, k.typname)
            USING ids INTO locked, wanted;
        IF locked = wanted THEN
            RETURN;
        END IF;
        -- Which one is missing, seen by a new statement (read committed: a new snapshot)?
        EXECUTE format('SELECT n.id FROM unnest($1) n(id) WHERE NOT EXISTS (SELECT FROM %s l WHERE l.%I = n.id::%s) '
                       'ORDER BY 1 LIMIT 1', r.label, k.attname, k.typname)
            USING ids INTO missing;
        EXIT WHEN missing IS NOT NULL;
        -- None: a record was deleted and inserted again while we waited for its lock. Retry.
    END LOOP;
    RAISE EXCEPTION 'record % does not exist in table %', coalesce(missing, '(changed concurrently)'), r.label
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Vectors of index %s need an existing record.', r.id);
END $$;

-- ====================================================================== writing vectors
-- Writes (record id as text, vector) pairs into an index after validating the whole batch;
-- nothing is written when any pair is invalid. ids_what/vecs_what/base name the items in
-- messages (items[0] for JSON, record_ids[1] for SQL arrays). upsert = false is for records
-- inserted by this call (plain INSERT, no existence check needed). Last duplicate wins.
CREATE OR REPLACE FUNCTION strata._write_vectors(r strata.indexes_catalog, ids text[], vecs @extschema@.vector[],
                                      ids_what text, vecs_what text, base integer, upsert boolean)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       record := strata._record_key(r.label);
    n       integer := coalesce(cardinality(ids), 0);
    i       integer;
    v_count bigint;
    v_state text;
    v_msg   text;
BEGIN
    IF n <> coalesce(cardinality(vecs), 0) THEN
        RAISE EXCEPTION '% and % have different lengths (% and %)', ids_what, vecs_what, n,
                coalesce(cardinality(vecs), 0)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT min(o) INTO i FROM unnest(ids) WITH ORDINALITY u(id, o) WHERE id IS NULL;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%]: record id is null', ids_what, i - 1 + base USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT min(o) INTO i FROM unnest(vecs) WITH ORDINALITY u(v, o) WHERE v IS NULL;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%] (record %): vector is null', vecs_what, i - 1 + base, ids[i]
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT min(o) INTO i FROM unnest(vecs) WITH ORDINALITY u(v, o)
     WHERE @extschema@.vector_dims(v) <> r.dimensions;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%] (record %): expected % dimensions, not %', vecs_what, i - 1 + base, ids[i],
                r.dimensions, @extschema@.vector_dims(vecs[i])
            USING ERRCODE = 'data_exception';
    END IF;
    -- Record ids must parse as the key type, and (for upserts) name existing records.
    BEGIN
        EXECUTE format('SELECT min(u.o) FROM unnest($1) WITH ORDINALITY u(id, o) '
                       'WHERE %s AND NOT EXISTS (SELECT FROM %s l WHERE l.%I = u.id::%s)',
                       upsert::text, r.label, k.attname, k.typname)
            USING ids INTO i;
    EXCEPTION WHEN OTHERS THEN
        FOR j IN 1 .. n LOOP
            BEGIN
                EXECUTE format('SELECT $1::%s', k.typname) USING ids[j];
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
                RAISE EXCEPTION '%[%]: %', ids_what, j - 1 + base, v_msg USING ERRCODE = v_state;
            END;
        END LOOP;
        RAISE;
    END;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%]: record % does not exist in table %', ids_what, i - 1 + base, ids[i], r.label
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Lock order, the same for every writer: the records FOR KEY SHARE (by record id, before
    -- any vector, as a DELETE of records locks them before their vectors), then the vectors
    -- (sorted by record id), then, without waiting, the catalog row (the status).
    IF upsert THEN
        PERFORM strata._lock_records(r, ids);
    END IF;
    EXECUTE format('INSERT INTO %s AS v (record_id, vec, updated_at) '
                   'SELECT DISTINCT ON (s.id) s.id, s.vec, pg_catalog.now() '
                   'FROM (SELECT u.id::%s AS id, u.vec, u.o FROM unnest($1, $2) WITH ORDINALITY u(id, vec, o)) s '
                   'ORDER BY s.id, s.o DESC %s',
                   r.vector_table, k.typname,
                   CASE WHEN upsert THEN 'ON CONFLICT (record_id) DO UPDATE SET vec = EXCLUDED.vec, '
                                         'updated_at = EXCLUDED.updated_at' ELSE '' END)
        USING ids, vecs;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 AND r.status = 'awaiting_vectors' THEN
        -- Flip the index to ready unless another writer is flipping it: waiting for that
        -- writer's commit would serialise the first loads (and deadlock two writers that go on
        -- to write each other's records). Should that writer roll back, the stored status lags,
        -- but strata.indexes derives ready from the vectors themselves.
        UPDATE strata.indexes_catalog c SET status = 'ready'
         WHERE c.id = (SELECT x.id FROM strata.indexes_catalog x WHERE x.id = r.id AND x.status = 'awaiting_vectors'
                          FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN v_count;
END $$;

-- items: [{"recordId": ..., "vector": [...]}, ...] (or {"items": [...]}, as RushDB sends it),
-- parsed in Rust (crates/strata-byov/src/items.rs) into record ids and vectors, which then take
-- the array form's path.
CREATE FUNCTION strata._parse_items(items jsonb, OUT record_ids text[], OUT vectors @extschema@.vector[])
    AS 'MODULE_PATHNAME', 'strata_parse_items' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION strata.upsert_vectors(index_id bigint, items jsonb) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r      strata.indexes_catalog;
    v_ids  text[];
    v_vecs @extschema@.vector[];
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = index_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'index % does not exist', index_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM strata._check_privileges(r.label, '{SELECT,INSERT,UPDATE}', 'strata.upsert_vectors');
    SELECT p.record_ids, p.vectors INTO v_ids, v_vecs FROM strata._parse_items(items) p;
    RETURN strata._write_vectors(r, v_ids, v_vecs, 'items', 'items', 0, true);
END $$;

-- ====================================================================== inline writes
-- insert_records' vector entries moved into Rust (strata._parse_vector_entries, issue 17).
DROP FUNCTION strata._json_vector(jsonb, text);

-- The vector entries of every record at once (one list per record, or null), parsed and
-- checked in Rust (crates/strata-byov/src/entries.rs): one array element per entry. The first
-- invalid list or entry comes back in the error columns, with its record, for insert_records to
-- raise when its loop reaches that record (after the columns of the records before it and the
-- indexes of the entries before it, as when the loop checked the entries itself).
CREATE FUNCTION strata._parse_vector_entries(lists jsonb, OUT records integer[], OUT properties text[],
                                             OUT similarities text[], OUT vectors @extschema@.vector[],
                                             OUT error_record integer, OUT error_sqlstate text,
                                             OUT error_message text, OUT error_hint text)
    AS 'MODULE_PATHNAME', 'strata_parse_vector_entries' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Inserts records (a JSON object, or an array of them; keys are column names) and their vectors
-- in one transaction. Vectors per record: [{"propertyName": ..., "vector": [...],
-- "similarity": ...}], either inline under the key "__vectors" or in the vectors argument (an
-- array of such lists for an array of records, one list for a single record).
CREATE OR REPLACE FUNCTION strata.insert_records(label regclass, records jsonb, vectors jsonb DEFAULT NULL)
    RETURNS TABLE (record_id text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k        record;
    v_single boolean := jsonb_typeof(records) = 'object';
    v_recs   jsonb;
    v_vecs   jsonb;
    v_n      integer;
    v_rec    jsonb;
    v_cols   text;
    v_id     text;
    v_ids    text[] := '{}';
    v_bad    text;
    v_hint   text;
    r        strata.indexes_catalog;
    -- the vector entries (strata._parse_vector_entries), one element per entry, and the first
    -- invalid one
    e_rec    integer[];
    e_prop   text[];
    e_sim    text[];
    e_vec    @extschema@.vector[];
    e_err    integer;
    e_state  text;
    e_msg    text;
    e_hint   text;
    v_p      integer := 1;  -- the next entry
    v_j      integer;       -- its position in its record's list
    -- each entry's index
    w_index  bigint[] := '{}';
    v_where  text;
    v_state  text;
    v_msg    text;
    v_detail text;
BEGIN
    IF label IS NULL OR records IS NULL THEN
        RAISE EXCEPTION 'strata.insert_records: label and records must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM strata._check_privileges(label, '{INSERT}', 'strata.insert_records');
    k := strata._record_key(label);
    v_recs := CASE WHEN v_single THEN jsonb_build_array(records) ELSE records END;
    IF jsonb_typeof(v_recs) <> 'array' THEN
        RAISE EXCEPTION 'records must be a JSON object or an array of objects' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_n := jsonb_array_length(v_recs);
    -- Vector lists, one per record.
    IF vectors IS NOT NULL AND jsonb_typeof(vectors) <> 'null' THEN
        IF EXISTS (SELECT FROM jsonb_array_elements(v_recs) e WHERE e ? '__vectors') THEN
            RAISE EXCEPTION 'vectors given both inline ("__vectors") and in the vectors argument'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_vecs := CASE WHEN v_single THEN jsonb_build_array(vectors) ELSE vectors END;
        IF jsonb_typeof(v_vecs) <> 'array' OR jsonb_array_length(v_vecs) <> v_n THEN
            RAISE EXCEPTION 'vectors must be %', CASE WHEN v_single THEN 'a JSON array of vector entries'
                ELSE format('a JSON array of %s lists of vector entries, one per record', v_n) END
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        SELECT coalesce(jsonb_agg(coalesce(e -> '__vectors', 'null') ORDER BY o), '[]') INTO v_vecs
          FROM jsonb_array_elements(v_recs) WITH ORDINALITY t(e, o);
    END IF;
    SELECT p.records, p.properties, p.similarities, p.vectors,
           p.error_record, p.error_sqlstate, p.error_message, p.error_hint
      INTO e_rec, e_prop, e_sim, e_vec, e_err, e_state, e_msg, e_hint
      FROM strata._parse_vector_entries(v_vecs) p;
    -- Validate everything before writing anything.
    FOR i IN 0 .. v_n - 1 LOOP
        v_rec := v_recs -> i;
        IF jsonb_typeof(v_rec) <> 'object' THEN
            RAISE EXCEPTION 'records[%] must be a JSON object', i USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT x.key INTO v_bad FROM jsonb_object_keys(v_rec - '__vectors') x(key)
         WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = label AND a.attname = x.key
                              AND a.attnum > 0 AND NOT a.attisdropped)
         ORDER BY 1 LIMIT 1;
        IF FOUND THEN
            SELECT format('Did you mean "%s"?', a.attname) INTO v_hint FROM pg_attribute a
             WHERE a.attrelid = label AND lower(a.attname) = lower(v_bad) AND a.attnum > 0 AND NOT a.attisdropped
             LIMIT 1;
            PERFORM strata._raise('42703', format('records[%s]: column "%s" of relation "%s" does not exist',
                                                  i, v_bad, label), NULL, v_hint);
        END IF;
        v_j := 0;
        WHILE v_p <= cardinality(e_rec) AND e_rec[v_p] = i LOOP
            v_where := format('records[%s].vectors[%s]', i, v_j);
            BEGIN
                r := strata._resolve_index(label, e_prop[v_p]::name, e_sim[v_p],
                                           @extschema@.vector_dims(e_vec[v_p]));
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                        v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
                PERFORM strata._raise(v_state, v_where || ': ' || v_msg, v_detail, v_hint);
            END;
            w_index := w_index || r.id;
            v_p := v_p + 1;
            v_j := v_j + 1;
        END LOOP;
        IF e_err = i THEN
            PERFORM strata._raise(e_state, e_msg, NULL, e_hint);
        END IF;
    END LOOP;
    -- Insert the records, each with exactly its own columns so the others get their defaults.
    FOR i IN 0 .. v_n - 1 LOOP
        v_rec := (v_recs -> i) - '__vectors';
        SELECT string_agg(format('%I', x.key), ', ' ORDER BY x.key) INTO v_cols FROM jsonb_object_keys(v_rec) x(key);
        IF v_cols IS NULL THEN
            EXECUTE format('INSERT INTO %s DEFAULT VALUES RETURNING %I::text', label, k.attname) INTO v_id;
        ELSE
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) RETURNING %I::text',
                           label, v_cols, v_cols, label, k.attname)
                USING v_rec INTO v_id;
        END IF;
        v_ids := v_ids || v_id;
    END LOOP;
    -- Then their vectors, one batch per index.
    FOR r IN SELECT c.* FROM strata.indexes_catalog c WHERE c.id = ANY (w_index) ORDER BY c.id LOOP
        PERFORM strata._write_vectors(r,
                    ARRAY(SELECT v_ids[e_rec[p] + 1] FROM generate_subscripts(w_index, 1) p
                           WHERE w_index[p] = r.id ORDER BY p),
                    ARRAY(SELECT e_vec[p] FROM generate_subscripts(w_index, 1) p
                           WHERE w_index[p] = r.id ORDER BY p),
                    'records', 'vectors', 0, false);
    END LOOP;
    RETURN QUERY SELECT x FROM unnest(v_ids) x;
END $$;

-- ====================================================================== search
CREATE OR REPLACE FUNCTION strata.search(label regclass, property name, query_vector @extschema@.vector,
                              filter jsonb DEFAULT NULL, k integer DEFAULT 20, skip integer DEFAULT 0,
                              similarity text DEFAULT NULL)
    RETURNS TABLE (record_id text, score real, record jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r      strata.indexes_catalog;
    v_need bigint;
BEGIN
    IF label IS NULL OR property IS NULL OR query_vector IS NULL THEN
        RAISE EXCEPTION 'strata.search: label, property and query_vector must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    ELSIF k IS NULL OR k < 0 THEN
        RAISE EXCEPTION 'k must be zero or more, not %', coalesce(k::text, 'null') USING ERRCODE = 'invalid_parameter_value';
    ELSIF skip IS NULL OR skip < 0 THEN
        RAISE EXCEPTION 'skip must be zero or more, not %', coalesce(skip::text, 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- k + skip rows are ranked; both are integers, so their sum must be one too.
    v_need := k::bigint + skip;
    IF v_need > 2147483647 THEN
        RAISE EXCEPTION 'k + skip must be at most 2147483647, not % (k %, skip %)', v_need, k, skip
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM strata._check_privileges(label, '{SELECT}', 'strata.search');
    r := strata._resolve_index(label, property, similarity, @extschema@.vector_dims(query_vector));
    IF k = 0 THEN
        RETURN;
    END IF;
    IF strata._search_exactly(r, filter) THEN
        RETURN QUERY EXECUTE strata._search_sql(r, filter, true) USING query_vector, filter, k, skip;
    ELSE
        RETURN QUERY SELECT * FROM strata._search_index(r, query_vector, filter, k, skip);
    END IF;
END $$;

CREATE OR REPLACE VIEW strata.indexes AS
SELECT c.id, c.label, c.property, c.source_type, c.similarity, c.dimensions,
       CASE WHEN c.status = 'ready' OR strata._has_vectors(c.id) THEN 'ready' ELSE c.status END AS status,
       strata._count(c.label, c.label) AS records,
       strata._count(c.vector_table, c.label) AS vectors,
       c.created_at, c.vector_table
  FROM strata.indexes_catalog c;

-- ============================================ issue 20: pgvecto.rs users' SQL
-- From sql/svector.sql: svector arithmetic, vector_norm and aggregates.
-- Element-wise arithmetic (issue 20), as on vector: + - * over the union of the stored
-- indices; overflow is 22003.
CREATE FUNCTION svector_add(svector, svector) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_add, COMMUTATOR = +);
CREATE FUNCTION svector_sub(svector, svector) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_sub);
CREATE FUNCTION svector_mul(svector, svector) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = svector, RIGHTARG = svector, FUNCTION = svector_mul, COMMUTATOR = *);
-- pgvecto.rs's name for the norm (svector_norm stays).
CREATE FUNCTION vector_norm(svector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_svector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Aggregates. avg's state is a sparse double precision[] {count, dims, index, sum, ...}
-- (strata_core::sparse::avg_accum): no serialisation functions, so it runs in parallel plans,
-- and a row costs its non-zeros, not the dimension count.
CREATE FUNCTION svector_accum(double precision[], svector) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'strata_svector_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_avg_combine(double precision[], double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'strata_svector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION svector_avg(double precision[]) RETURNS svector
    AS 'MODULE_PATHNAME', 'strata_svector_avg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE avg(svector) (
    SFUNC = svector_accum, STYPE = double precision[], FINALFUNC = svector_avg,
    COMBINEFUNC = svector_avg_combine, INITCOND = '{}', PARALLEL = SAFE
);
CREATE AGGREGATE sum(svector) (
    SFUNC = svector_add, STYPE = svector, COMBINEFUNC = svector_add, PARALLEL = SAFE
);

-- From sql/am.sql: pgvecto.rs's name for the Hamming operator class.
CREATE OPERATOR CLASS bvector_hamming_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <-> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_hamming(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_hamming(internal);
-- From src/am/sql.rs: pg_vector_index_stat gains pgvecto.rs's idx_status (a column in the
-- middle, so the view is recreated).
DROP VIEW pg_vector_index_stat;
-- Per vectors index: its table, options, segment sizes and merge activity.
-- pgvecto.rs's columns and strata's own. idx_status is always NORMAL: the
-- view lists valid indexes only. idx_options is the reloptions (text[];
-- pgvecto.rs gives its parsed options as JSON text).
-- idx_tuples counts entries not yet known deleted (VACUUM updates that);
-- idx_sealed / idx_growing give the rows of each sealed / growing segment,
-- idx_write the rows of the writing segment.
CREATE VIEW pg_vector_index_stat AS
SELECT c.oid AS tablerelid,
       i.oid AS indexrelid,
       c.relname AS tablename,
       i.relname AS indexname,
       'NORMAL'::pg_catalog.text AS idx_status,
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

-- From sql/types.sql, sql/svector.sql and sql/veci8.sql: subscripts v[i] and v[a:b].
-- v[i] (one element: real, integer 0/1 for bvector) and v[a:b] (a slice, the same type);
-- 0-based and half-open as in pgvecto.rs; bounds outside the vector are 2202E (src/subscript.rs).
CREATE FUNCTION vector_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_vector_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_vecf16_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_bvector_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE vector SET (SUBSCRIPT = vector_subscript);
ALTER TYPE vecf16 SET (SUBSCRIPT = vecf16_subscript);
ALTER TYPE bvector SET (SUBSCRIPT = bvector_subscript);
-- v[i] and v[a:b], 0-based like every type's subscripts (the text form counts from 1).
CREATE FUNCTION svector_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_svector_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE svector SET (SUBSCRIPT = svector_subscript);
-- v[i] and v[a:b] (a slice keeps the vector's scale, so its elements keep their values).
CREATE FUNCTION veci8_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_veci8_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE veci8 SET (SUBSCRIPT = veci8_subscript);

-- From sql/sphere.sql: range queries (sphere types, sphere(), <<->> <<#>> <<=>> <<~>>, index support).
CREATE TYPE sphere_vector AS (center vector, radius real);
CREATE FUNCTION sphere(vector, real) RETURNS sphere_vector
    AS 'SELECT ROW($1, $2)::@extschema@.sphere_vector' LANGUAGE SQL IMMUTABLE PARALLEL SAFE;
CREATE TYPE sphere_vecf16 AS (center vecf16, radius real);
CREATE FUNCTION sphere(vecf16, real) RETURNS sphere_vecf16
    AS 'SELECT ROW($1, $2)::@extschema@.sphere_vecf16' LANGUAGE SQL IMMUTABLE PARALLEL SAFE;
CREATE TYPE sphere_bvector AS (center bvector, radius real);
CREATE FUNCTION sphere(bvector, real) RETURNS sphere_bvector
    AS 'SELECT ROW($1, $2)::@extschema@.sphere_bvector' LANGUAGE SQL IMMUTABLE PARALLEL SAFE;
CREATE TYPE sphere_svector AS (center svector, radius real);
CREATE FUNCTION sphere(svector, real) RETURNS sphere_svector
    AS 'SELECT ROW($1, $2)::@extschema@.sphere_svector' LANGUAGE SQL IMMUTABLE PARALLEL SAFE;
CREATE TYPE sphere_veci8 AS (center veci8, radius real);
CREATE FUNCTION sphere(veci8, real) RETURNS sphere_veci8
    AS 'SELECT ROW($1, $2)::@extschema@.sphere_veci8' LANGUAGE SQL IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vector_sphere_l2(vector, sphere_vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_sphere_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<->> (LEFTARG = vector, RIGHTARG = sphere_vector, FUNCTION = vector_sphere_l2, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION vector_sphere_dot(vector, sphere_vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_sphere_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<#>> (LEFTARG = vector, RIGHTARG = sphere_vector, FUNCTION = vector_sphere_dot, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION vector_sphere_cos(vector, sphere_vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_sphere_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<=>> (LEFTARG = vector, RIGHTARG = sphere_vector, FUNCTION = vector_sphere_cos, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION vecf16_sphere_l2(vecf16, sphere_vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_sphere_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<->> (LEFTARG = vecf16, RIGHTARG = sphere_vecf16, FUNCTION = vecf16_sphere_l2, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION vecf16_sphere_dot(vecf16, sphere_vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_sphere_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<#>> (LEFTARG = vecf16, RIGHTARG = sphere_vecf16, FUNCTION = vecf16_sphere_dot, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION vecf16_sphere_cos(vecf16, sphere_vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_sphere_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<=>> (LEFTARG = vecf16, RIGHTARG = sphere_vecf16, FUNCTION = vecf16_sphere_cos, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION bvector_sphere_hamming(bvector, sphere_bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_sphere_hamming' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<->> (LEFTARG = bvector, RIGHTARG = sphere_bvector, FUNCTION = bvector_sphere_hamming, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION bvector_sphere_dot(bvector, sphere_bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_sphere_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<#>> (LEFTARG = bvector, RIGHTARG = sphere_bvector, FUNCTION = bvector_sphere_dot, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION bvector_sphere_cos(bvector, sphere_bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_sphere_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<=>> (LEFTARG = bvector, RIGHTARG = sphere_bvector, FUNCTION = bvector_sphere_cos, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION bvector_sphere_jaccard(bvector, sphere_bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_sphere_jaccard' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<~>> (LEFTARG = bvector, RIGHTARG = sphere_bvector, FUNCTION = bvector_sphere_jaccard, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION svector_sphere_l2(svector, sphere_svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_sphere_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<->> (LEFTARG = svector, RIGHTARG = sphere_svector, FUNCTION = svector_sphere_l2, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION svector_sphere_dot(svector, sphere_svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_sphere_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<#>> (LEFTARG = svector, RIGHTARG = sphere_svector, FUNCTION = svector_sphere_dot, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION svector_sphere_cos(svector, sphere_svector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_svector_sphere_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<=>> (LEFTARG = svector, RIGHTARG = sphere_svector, FUNCTION = svector_sphere_cos, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION veci8_sphere_l2(veci8, sphere_veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_sphere_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<->> (LEFTARG = veci8, RIGHTARG = sphere_veci8, FUNCTION = veci8_sphere_l2, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION veci8_sphere_dot(veci8, sphere_veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_sphere_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<#>> (LEFTARG = veci8, RIGHTARG = sphere_veci8, FUNCTION = veci8_sphere_dot, RESTRICT = contsel, JOIN = contjoinsel);
CREATE FUNCTION veci8_sphere_cos(veci8, sphere_veci8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_veci8_sphere_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <<=>> (LEFTARG = veci8, RIGHTARG = sphere_veci8, FUNCTION = veci8_sphere_cos, RESTRICT = contsel, JOIN = contjoinsel);
ALTER OPERATOR FAMILY vector_l2_ops USING vectors ADD OPERATOR 2 <<->> (vector, sphere_vector);
ALTER OPERATOR FAMILY l2_ops USING vectors ADD OPERATOR 2 <<->> (vector, sphere_vector);
ALTER OPERATOR FAMILY vector_dot_ops USING vectors ADD OPERATOR 2 <<#>> (vector, sphere_vector);
ALTER OPERATOR FAMILY dot_ops USING vectors ADD OPERATOR 2 <<#>> (vector, sphere_vector);
ALTER OPERATOR FAMILY vector_cos_ops USING vectors ADD OPERATOR 2 <<=>> (vector, sphere_vector);
ALTER OPERATOR FAMILY cos_ops USING vectors ADD OPERATOR 2 <<=>> (vector, sphere_vector);
ALTER OPERATOR FAMILY vecf16_l2_ops USING vectors ADD OPERATOR 2 <<->> (vecf16, sphere_vecf16);
ALTER OPERATOR FAMILY vecf16_dot_ops USING vectors ADD OPERATOR 2 <<#>> (vecf16, sphere_vecf16);
ALTER OPERATOR FAMILY vecf16_cos_ops USING vectors ADD OPERATOR 2 <<=>> (vecf16, sphere_vecf16);
ALTER OPERATOR FAMILY bvector_l2_ops USING vectors ADD OPERATOR 2 <<->> (bvector, sphere_bvector);
ALTER OPERATOR FAMILY bvector_hamming_ops USING vectors ADD OPERATOR 2 <<->> (bvector, sphere_bvector);
ALTER OPERATOR FAMILY bvector_dot_ops USING vectors ADD OPERATOR 2 <<#>> (bvector, sphere_bvector);
ALTER OPERATOR FAMILY bvector_cos_ops USING vectors ADD OPERATOR 2 <<=>> (bvector, sphere_bvector);
ALTER OPERATOR FAMILY bvector_jaccard_ops USING vectors ADD OPERATOR 2 <<~>> (bvector, sphere_bvector);
ALTER OPERATOR FAMILY svector_l2_ops USING vectors ADD OPERATOR 2 <<->> (svector, sphere_svector);
ALTER OPERATOR FAMILY svector_dot_ops USING vectors ADD OPERATOR 2 <<#>> (svector, sphere_svector);
ALTER OPERATOR FAMILY svector_cos_ops USING vectors ADD OPERATOR 2 <<=>> (svector, sphere_svector);
ALTER OPERATOR FAMILY veci8_l2_ops USING vectors ADD OPERATOR 2 <<->> (veci8, sphere_veci8);
ALTER OPERATOR FAMILY veci8_dot_ops USING vectors ADD OPERATOR 2 <<#>> (veci8, sphere_veci8);
ALTER OPERATOR FAMILY veci8_cos_ops USING vectors ADD OPERATOR 2 <<=>> (veci8, sphere_veci8);
