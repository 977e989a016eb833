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
-- v[i] and v[a:b], 0-based like every type's subscripts (the text form counts from 1).
CREATE FUNCTION svector_subscript(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'strata_svector_subscript' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE svector SET (SUBSCRIPT = svector_subscript);

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
-- Support function 2 of each vectors operator class: what the index stores
-- (element type, metric, svector or not), as an int4 code (src/am/opclass.rs).
CREATE FUNCTION _strata_space_svector_l2(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_svector_dot(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_dot' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _strata_space_svector_cos(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'strata_space_svector_cos' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS svector_l2_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <-> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_l2(svector, svector),
    FUNCTION 2 _strata_space_svector_l2(internal);
CREATE OPERATOR CLASS svector_dot_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <#> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_negative_dot(svector, svector),
    FUNCTION 2 _strata_space_svector_dot(internal);
CREATE OPERATOR CLASS svector_cos_ops FOR TYPE svector USING vectors AS
    OPERATOR 1 <=> (svector, svector) FOR ORDER BY float_ops, FUNCTION 1 svector_cosine(svector, svector),
    FUNCTION 2 _strata_space_svector_cos(internal);
