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
-- v[i] and v[a:b] (a slice keeps the vector's scale, so its elements keep their values).
CREATE FUNCTION veci8_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_veci8_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE veci8 SET (SUBSCRIPT = veci8_subscript);

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

-- Support function 2 of each vectors operator class: what the index stores
-- (element type, metric, svector or not), as an int4 code (src/am/opclass.rs).
CREATE FUNCTION _strata_space_veci8_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_veci8_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_veci8_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_veci8_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS veci8_l2_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <-> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_l2(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_l2(internal);
CREATE OPERATOR CLASS veci8_dot_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <#> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_negative_dot(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_dot(internal);
CREATE OPERATOR CLASS veci8_cos_ops FOR TYPE veci8 USING vectors AS
    OPERATOR 1 <=> (veci8, veci8) FOR ORDER BY float_ops, FUNCTION 1 veci8_cosine(veci8, veci8),
    FUNCTION 2 _strata_space_veci8_cos(internal);
