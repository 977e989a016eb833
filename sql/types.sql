-- strata: the vector types, their operators, casts, functions and aggregates.
-- The C functions are in src/types.rs (symbols prefixed strata_).

-- ===================================================================== vector
CREATE TYPE vector;
CREATE FUNCTION vector_in(cstring, oid, integer) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_out(vector) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_vector_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_typmod_out(integer) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_recv(internal, oid, integer) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_send(vector) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_vector_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vector (
    INPUT = vector_in, OUTPUT = vector_out,
    TYPMOD_IN = vector_typmod_in, TYPMOD_OUT = vector_typmod_out,
    RECEIVE = vector_recv, SEND = vector_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);

-- ===================================================================== vecf16
CREATE TYPE vecf16;
CREATE FUNCTION vecf16_in(cstring, oid, integer) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vecf16_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_out(vecf16) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_vecf16_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vecf16_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_recv(internal, oid, integer) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vecf16_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_send(vecf16) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_vecf16_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vecf16 (
    INPUT = vecf16_in, OUTPUT = vecf16_out,
    TYPMOD_IN = vecf16_typmod_in, TYPMOD_OUT = vector_typmod_out,
    RECEIVE = vecf16_recv, SEND = vecf16_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);

-- ==================================================================== bvector
CREATE TYPE bvector;
CREATE FUNCTION bvector_in(cstring, oid, integer) RETURNS bvector
    AS 'MODULE_PATHNAME', 'strata_bvector_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_out(bvector) RETURNS cstring
    AS 'MODULE_PATHNAME', 'strata_bvector_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_bvector_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_recv(internal, oid, integer) RETURNS bvector
    AS 'MODULE_PATHNAME', 'strata_bvector_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_send(bvector) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_bvector_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE bvector (
    INPUT = bvector_in, OUTPUT = bvector_out,
    TYPMOD_IN = bvector_typmod_in, TYPMOD_OUT = vector_typmod_out,
    RECEIVE = bvector_recv, SEND = bvector_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended
);

-- ============================================================ subscripts
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

-- ============================================ typmod enforcement on assignment
CREATE FUNCTION vector(vector, integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16(vecf16, integer, boolean) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector(bvector, integer, boolean) RETURNS bvector
    AS 'MODULE_PATHNAME', 'strata_vector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (vector AS vector) WITH FUNCTION vector(vector, integer, boolean) AS IMPLICIT;
CREATE CAST (vecf16 AS vecf16) WITH FUNCTION vecf16(vecf16, integer, boolean) AS IMPLICIT;
CREATE CAST (bvector AS bvector) WITH FUNCTION bvector(bvector, integer, boolean) AS IMPLICIT;

-- ===================================================================== casts
CREATE FUNCTION array_to_vector(real[], integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(double precision[], integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(integer[], integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(numeric[], integer, boolean) RETURNS vector
    AS 'SELECT @extschema@.array_to_vector($1::pg_catalog.float8[], $2, $3)'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_to_real_array(vector) RETURNS real[]
    AS 'MODULE_PATHNAME', 'strata_vector_to_real_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_to_vecf16(vector, integer, boolean) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vector_to_vecf16' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_to_vector(vecf16, integer, boolean) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vecf16_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION binarize(vector) RETURNS bvector
    AS 'MODULE_PATHNAME', 'strata_binarize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (real[] AS vector) WITH FUNCTION array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS vector) WITH FUNCTION array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS vector) WITH FUNCTION array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS vector) WITH FUNCTION array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (vector AS real[]) WITH FUNCTION vector_to_real_array(vector) AS ASSIGNMENT;
CREATE CAST (vector AS vecf16) WITH FUNCTION vector_to_vecf16(vector, integer, boolean) AS ASSIGNMENT;
CREATE CAST (vecf16 AS vector) WITH FUNCTION vecf16_to_vector(vecf16, integer, boolean) AS ASSIGNMENT;
CREATE CAST (vector AS bvector) WITH FUNCTION binarize(vector);

-- ============================================================ functions
CREATE FUNCTION vector_dims(vector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_dims(vecf16) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_dims(bvector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(vector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_normalize(vector) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ============================================================ distances
CREATE FUNCTION vector_l2(vector, vector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_l2, COMMUTATOR = <->);
CREATE FUNCTION vector_negative_dot(vector, vector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vector_negative_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION vector_cosine(vector, vector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vector_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_cosine, COMMUTATOR = <=>);
CREATE FUNCTION vecf16_l2(vecf16, vecf16) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vecf16_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_l2, COMMUTATOR = <->);
CREATE FUNCTION vecf16_negative_dot(vecf16, vecf16) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vecf16_negative_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION vecf16_cosine(vecf16, vecf16) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_vecf16_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_cosine, COMMUTATOR = <=>);
CREATE FUNCTION bvector_hamming(bvector, bvector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_bvector_hamming' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = bvector, RIGHTARG = bvector, FUNCTION = bvector_hamming, COMMUTATOR = <->);
CREATE FUNCTION bvector_negative_dot(bvector, bvector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_bvector_negative_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = bvector, RIGHTARG = bvector, FUNCTION = bvector_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION bvector_cosine(bvector, bvector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_bvector_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = bvector, RIGHTARG = bvector, FUNCTION = bvector_cosine, COMMUTATOR = <=>);
CREATE FUNCTION bvector_jaccard(bvector, bvector) RETURNS double precision
    AS 'MODULE_PATHNAME', 'strata_bvector_jaccard' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <~> (LEFTARG = bvector, RIGHTARG = bvector, FUNCTION = bvector_jaccard, COMMUTATOR = <~>);

-- ============================================================ arithmetic
CREATE FUNCTION vector_add(vector, vector) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_add, COMMUTATOR = +);
CREATE FUNCTION vector_sub(vector, vector) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_sub);
CREATE FUNCTION vector_mul(vector, vector) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_mul, COMMUTATOR = *);
CREATE FUNCTION vecf16_add(vecf16, vecf16) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vecf16_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR + (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_add, COMMUTATOR = +);
CREATE FUNCTION vecf16_sub(vecf16, vecf16) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vecf16_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR - (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_sub);
CREATE FUNCTION vecf16_mul(vecf16, vecf16) RETURNS vecf16
    AS 'MODULE_PATHNAME', 'strata_vecf16_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR * (LEFTARG = vecf16, RIGHTARG = vecf16, FUNCTION = vecf16_mul, COMMUTATOR = *);

-- ============================================================ btree
CREATE FUNCTION vector_cmp(vector, vector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vector_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_lt(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR < (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE FUNCTION vector_le(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <= (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE FUNCTION vector_eq(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE FUNCTION vector_ne(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <> (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE FUNCTION vector_ge(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >= (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION vector_gt(vector, vector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vector_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR > (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR CLASS vector_ops DEFAULT FOR TYPE vector USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 vector_cmp(vector, vector);
CREATE FUNCTION vecf16_cmp(vecf16, vecf16) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_vecf16_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vecf16_lt(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR < (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE FUNCTION vecf16_le(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <= (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE FUNCTION vecf16_eq(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE FUNCTION vecf16_ne(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <> (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE FUNCTION vecf16_ge(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >= (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION vecf16_gt(vecf16, vecf16) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_vecf16_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR > (LEFTARG = vecf16, RIGHTARG = vecf16, PROCEDURE = vecf16_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR CLASS vecf16_ops DEFAULT FOR TYPE vecf16 USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 vecf16_cmp(vecf16, vecf16);
CREATE FUNCTION bvector_cmp(bvector, bvector) RETURNS integer
    AS 'MODULE_PATHNAME', 'strata_bvector_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bvector_lt(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR < (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE FUNCTION bvector_le(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <= (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE FUNCTION bvector_eq(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE FUNCTION bvector_ne(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <> (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE FUNCTION bvector_ge(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR >= (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION bvector_gt(bvector, bvector) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_bvector_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR > (LEFTARG = bvector, RIGHTARG = bvector, PROCEDURE = bvector_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR CLASS bvector_ops DEFAULT FOR TYPE bvector USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 bvector_cmp(bvector, bvector);

-- ============================================================ aggregates
-- State: double precision[] {count, sum_1, ..., sum_n}; plain arrays need no
-- serialisation functions, so both aggregates run in parallel plans.
CREATE FUNCTION vector_accum(double precision[], vector) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'strata_vector_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_combine(double precision[], double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'strata_vector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_avg(double precision[]) RETURNS vector
    AS 'MODULE_PATHNAME', 'strata_vector_avg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE avg(vector) (
    SFUNC = vector_accum, STYPE = double precision[], FINALFUNC = vector_avg,
    COMBINEFUNC = vector_combine, INITCOND = '{}', PARALLEL = SAFE
);
CREATE AGGREGATE sum(vector) (
    SFUNC = vector_add, STYPE = vector, COMBINEFUNC = vector_add, PARALLEL = SAFE
);

-- ============================================================ arrays as vectors
-- The distance operators on plain arrays (pgvecto.rs: `SELECT array[1, 2, 3] <-> array[3, 2, 1]`):
-- both sides are converted to vector (f32), with the casts' checks (no NULLs, one dimension).
CREATE FUNCTION array_real_l2(real[], real[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<->) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = array_real_l2, COMMUTATOR = <->);
CREATE FUNCTION array_real_negative_dot(real[], real[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<#>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = array_real_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION array_real_cosine(real[], real[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<=>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = array_real_cosine, COMMUTATOR = <=>);
CREATE FUNCTION array_float8_l2(double precision[], double precision[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<->) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = double precision[], RIGHTARG = double precision[], FUNCTION = array_float8_l2, COMMUTATOR = <->);
CREATE FUNCTION array_float8_negative_dot(double precision[], double precision[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<#>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = double precision[], RIGHTARG = double precision[], FUNCTION = array_float8_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION array_float8_cosine(double precision[], double precision[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<=>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = double precision[], RIGHTARG = double precision[], FUNCTION = array_float8_cosine, COMMUTATOR = <=>);
CREATE FUNCTION array_int4_l2(integer[], integer[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<->) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = integer[], RIGHTARG = integer[], FUNCTION = array_int4_l2, COMMUTATOR = <->);
CREATE FUNCTION array_int4_negative_dot(integer[], integer[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<#>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = integer[], RIGHTARG = integer[], FUNCTION = array_int4_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION array_int4_cosine(integer[], integer[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<=>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = integer[], RIGHTARG = integer[], FUNCTION = array_int4_cosine, COMMUTATOR = <=>);
CREATE FUNCTION array_numeric_l2(numeric[], numeric[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<->) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <-> (LEFTARG = numeric[], RIGHTARG = numeric[], FUNCTION = array_numeric_l2, COMMUTATOR = <->);
CREATE FUNCTION array_numeric_negative_dot(numeric[], numeric[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<#>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <#> (LEFTARG = numeric[], RIGHTARG = numeric[], FUNCTION = array_numeric_negative_dot, COMMUTATOR = <#>);
CREATE FUNCTION array_numeric_cosine(numeric[], numeric[]) RETURNS double precision
    AS 'SELECT $1::@extschema@.vector OPERATOR(@extschema@.<=>) $2::@extschema@.vector'
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR <=> (LEFTARG = numeric[], RIGHTARG = numeric[], FUNCTION = array_numeric_cosine, COMMUTATOR = <=>);
