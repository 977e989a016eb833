-- Runs docs/byov_demo.sql, the job-search walk-through, so the demo cannot rot. psql reads this
-- file on stdin from the repository root (scripts/test; .ci/run cds there); the lookup also
-- works from scripts/ or tests/sql/.
\set demo `for d in . .. ../..; do if [ -f "$d/docs/byov_demo.sql" ]; then echo "$d/docs/byov_demo.sql"; break; fi; done`
\i :demo
