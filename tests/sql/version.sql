CREATE EXTENSION strata;
-- The library and the installed SQL come from the same build.
SELECT strata_version() = extversion AS library_matches_sql
  FROM pg_extension WHERE extname = 'strata';
SELECT strata_version() ~ '^\d+\.\d+\.\d+$' AS looks_like_semver;
