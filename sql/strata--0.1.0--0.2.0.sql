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
-- 0.2.0 changes no SQL object of 0.1.0: the new strata.so keeps every C symbol 0.1.0 declares
-- (the binary receive functions now validate through strata_core::wire, same messages).
-- It adds the types svector and veci8 (copies of sql/svector.sql and sql/veci8.sql) and the
-- superuser-only strata_debug_panic() of src/debug.rs.

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
CREATE OPERATOR CLASS svector_ops DEFAULT FOR TYPE svector USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 svector_cmp(svector, svector);

-- vectors index support: the index stores svectors densified to f32, so
-- indexed columns are limited to 65535 dimensions.
CREATE OPERATOR CLASS svector_l2_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <-> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_l2(svector, svector);
CREATE OPERATOR CLASS svector_dot_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <#> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_negative_dot(svector, svector);
CREATE OPERATOR CLASS svector_cos_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <=> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_cosine(svector, svector);

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
    OPERATOR 1 <-> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_l2(veci8, veci8);
CREATE OPERATOR CLASS veci8_dot_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <#> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_negative_dot(veci8, veci8);
CREATE OPERATOR CLASS veci8_cos_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <=> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_cosine(veci8, veci8);

-- ========================================================== from src/debug.rs
CREATE FUNCTION "strata_debug_panic"(
	"place" TEXT DEFAULT 'backend'
) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'strata_debug_panic_wrapper';
REVOKE EXECUTE ON FUNCTION strata_debug_panic(text) FROM PUBLIC;
