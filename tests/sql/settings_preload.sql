CREATE EXTENSION strata;
-- strata's settings (strata.ef_search, strata.search_mode, ...) exist once a session has
-- loaded the library, which happens when it first calls one of strata's functions. What a
-- user sees in a new session before that, and with session_preload_libraries (README,
-- "Settings before the library loads").
\c
-- Nothing of strata has run in this session yet: PostgreSQL does not know the setting.
SHOW strata.ef_search;
-- SET is accepted as a placeholder, unchecked...
SET strata.ef_search = 0;
SET strata.ef_serach = 10;
SHOW strata.ef_search;
-- ...until the first use of a type, operator or index loads the library: the invalid value
-- and the misspelt name become WARNINGs, and the defaults apply.
SELECT '[1,2]'::vector <-> '[1,3]' AS first_use;
SHOW strata.ef_search;
SHOW strata.search_mode;
-- Once loaded, the settings are checked, and the strata. prefix is reserved: a misspelt
-- name is an error too, instead of a silent placeholder.
SET strata.ef_search = 0;
SET strata.ef_serach = 10;
SET strata.ef_search = 40;
SHOW strata.ef_search;

-- With the library in session_preload_libraries (here for one database; a superuser's
-- setting), every new session knows the settings from its start.
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET session_preload_libraries = 'strata';
\c
SHOW strata.ef_search;
SET strata.ef_search = 0;
SET strata.search_mode = 'basic';
SHOW strata.search_mode;
ALTER DATABASE :"db" RESET session_preload_libraries;
