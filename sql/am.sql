-- strata: the index access method `vectors` and its operator classes.
CREATE FUNCTION vectors_amhandler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'strata_vectors_amhandler' LANGUAGE C STRICT;
CREATE ACCESS METHOD vectors TYPE INDEX HANDLER vectors_amhandler;
COMMENT ON ACCESS METHOD vectors IS 'HNSW segments for ORDER BY vector distance';

CREATE OPERATOR CLASS vector_l2_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_l2(vector, vector);
CREATE OPERATOR CLASS vector_dot_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_negative_dot(vector, vector);
CREATE OPERATOR CLASS vector_cos_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_cosine(vector, vector);
-- The pgvecto.rs articles' short names, for vector columns.
CREATE OPERATOR CLASS l2_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_l2(vector, vector);
CREATE OPERATOR CLASS dot_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_negative_dot(vector, vector);
CREATE OPERATOR CLASS cos_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_cosine(vector, vector);

CREATE OPERATOR CLASS vecf16_l2_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <-> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_l2(vecf16, vecf16);
CREATE OPERATOR CLASS vecf16_dot_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <#> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_negative_dot(vecf16, vecf16);
CREATE OPERATOR CLASS vecf16_cos_ops FOR TYPE vecf16 USING vectors AS
    OPERATOR 1 <=> (vecf16, vecf16) FOR ORDER BY float_ops, FUNCTION 1 vecf16_cosine(vecf16, vecf16);

CREATE OPERATOR CLASS bvector_l2_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <-> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_hamming(bvector, bvector);
CREATE OPERATOR CLASS bvector_dot_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <#> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_negative_dot(bvector, bvector);
CREATE OPERATOR CLASS bvector_cos_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <=> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_cosine(bvector, bvector);
CREATE OPERATOR CLASS bvector_jaccard_ops FOR TYPE bvector USING vectors AS
    OPERATOR 1 <~> (bvector, bvector) FOR ORDER BY float_ops, FUNCTION 1 bvector_jaccard(bvector, bvector);

-- Merges every segment of a vectors index into one sealed HNSW segment;
-- returns false when there was nothing to merge.
CREATE FUNCTION strata_optimize(index regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'strata_optimize' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
