-- strata: the index access method `vectors` and its operator classes.
CREATE FUNCTION vectors_amhandler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'strata_vectors_amhandler' LANGUAGE C STRICT;
CREATE ACCESS METHOD vectors TYPE INDEX HANDLER vectors_amhandler;
COMMENT ON ACCESS METHOD vectors IS 'HNSW segments for ORDER BY vector distance';

-- Support function 2 of each vectors operator class: what the index stores
-- (element type, metric, svector or not), as an int4 code (src/am/opclass.rs).
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

CREATE OPERATOR CLASS vector_l2_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_l2(vector, vector),
    FUNCTION 2 _strata_space_vector_l2(internal);
CREATE OPERATOR CLASS vector_dot_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_negative_dot(vector, vector),
    FUNCTION 2 _strata_space_vector_dot(internal);
CREATE OPERATOR CLASS vector_cos_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_cosine(vector, vector),
    FUNCTION 2 _strata_space_vector_cos(internal);
-- The pgvecto.rs articles' short names, for vector columns.
CREATE OPERATOR CLASS l2_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_l2(vector, vector),
    FUNCTION 2 _strata_space_vector_l2(internal);
CREATE OPERATOR CLASS dot_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_negative_dot(vector, vector),
    FUNCTION 2 _strata_space_vector_dot(internal);
CREATE OPERATOR CLASS cos_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_cosine(vector, vector),
    FUNCTION 2 _strata_space_vector_cos(internal);

CREATE OPERATOR CLASS vecf16_l2_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <-> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_l2(vecf16, vecf16),
    FUNCTION 2 _strata_space_vecf16_l2(internal);
CREATE OPERATOR CLASS vecf16_dot_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <#> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_negative_dot(vecf16, vecf16),
    FUNCTION 2 _strata_space_vecf16_dot(internal);
CREATE OPERATOR CLASS vecf16_cos_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <=> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_cosine(vecf16, vecf16),
    FUNCTION 2 _strata_space_vecf16_cos(internal);

CREATE OPERATOR CLASS bvector_l2_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <-> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_hamming(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_hamming(internal);
-- pgvecto.rs's name for the Hamming operator class: the same index as bvector_l2_ops.
CREATE OPERATOR CLASS bvector_hamming_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <-> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_hamming(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_hamming(internal);
CREATE OPERATOR CLASS bvector_dot_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <#> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_negative_dot(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_dot(internal);
CREATE OPERATOR CLASS bvector_cos_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <=> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_cosine(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_cos(internal);
CREATE OPERATOR CLASS bvector_jaccard_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <~> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_jaccard(bvector, bvector),
    FUNCTION 2 _strata_space_bvector_jaccard(internal);

-- Merges every segment of a vectors index into one sealed HNSW segment;
-- returns false when there was nothing to merge.
CREATE FUNCTION strata_optimize(index regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_optimize' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
