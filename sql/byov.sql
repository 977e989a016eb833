-- strata: Bring Your Own Vectors (schema strata). See tests/sql/byov_*.sql.
CREATE SCHEMA strata;
