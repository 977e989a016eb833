-- strata: range queries (pgvecto.rs 0.2 and later). `emb <<->> sphere(q, r)` is true when
-- emb <-> q < r; likewise <<#>> (<#>), <<=>> (<=>) and <<~>> (<~>, bvector). Each is in the
-- operator family of the matching vectors operator class as a search operator (strategy 2),
-- so the index serves it and stops streaming past the radius (src/am/scan.rs,
-- strata_core::range); C functions in src/sphere.rs. RESTRICT contsel: a fixed selectivity of
-- 0.001, as PostgreSQL's containment operators, so that the planner prefers the index.
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
