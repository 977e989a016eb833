-- strata: Bring Your Own Vectors (schema strata). User documentation: docs/byov.md;
-- tests: tests/sql/byov_*.sql. Everything here is SQL and PL/pgSQL.
--
-- Storage. Every registered index owns one table strata.vectors_<id> (record_id, vec, updated_at)
-- owned by the extension owner; the label table only gets triggers. Instead of a foreign key (which
-- would make a plain TRUNCATE of the label fail) the tie between a record and its vectors is kept
-- by triggers running with the extension owner's rights:
--   on the label:         AFTER DELETE (statement, transition table) deletes the vectors,
--                         AFTER TRUNCATE truncates them,
--                         AFTER UPDATE OF <pk> (row, only when the key changes) re-keys them;
--   on the vector table:  AFTER INSERT (statement) and AFTER UPDATE OF record_id (row) check that
--                         the records exist and lock them FOR KEY SHARE until commit (as a
--                         foreign key check does), so a concurrent DELETE cannot leave orphans.
--
-- Privileges. The API functions are SECURITY INVOKER. Vector tables grant SELECT, INSERT, UPDATE,
-- DELETE to PUBLIC and enable row level security with policies that mirror the caller's current
-- privileges on the label table: you can read an index's vectors exactly when you can read the
-- label. The catalog is protected by row level security too: only an owner of the label can
-- register or unregister an index on it. A few SECURITY DEFINER functions do what the caller
-- cannot: _create_storage/_drop_storage (they only ever make storage match the catalog, which
-- the caller could change only through those policies) and the trigger functions above.
-- Nothing running with the extension owner's rights executes code owned by other roles: record
-- id types are restricted to built-in types, and vector tables belong to the extension owner.

CREATE SCHEMA strata;
COMMENT ON SCHEMA strata IS 'strata Bring Your Own Vectors: external embedding indexes (see docs/byov.md)';
GRANT USAGE ON SCHEMA strata TO PUBLIC;

-- ====================================================================== catalog
CREATE SEQUENCE strata.indexes_catalog_id_seq;
CREATE TABLE strata.indexes_catalog (
    id           bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('strata.indexes_catalog_id_seq'::pg_catalog.regclass),
    label        regclass    NOT NULL,
    property     name        NOT NULL,
    source_type  text        NOT NULL DEFAULT 'external' CHECK (source_type = 'external'),
    similarity   text        NOT NULL CHECK (similarity IN ('cosine', 'euclidean', 'dot')),
    dimensions   integer     NOT NULL CHECK (dimensions BETWEEN 1 AND 65535),
    status       text        NOT NULL DEFAULT 'awaiting_vectors' CHECK (status IN ('awaiting_vectors', 'ready')),
    vector_table regclass    UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT indexes_catalog_signature UNIQUE (label, property, source_type, similarity, dimensions)
);
ALTER SEQUENCE strata.indexes_catalog_id_seq OWNED BY strata.indexes_catalog.id;
COMMENT ON TABLE strata.indexes_catalog IS
    'Registered external indexes; use strata.create_index / strata.drop_index and the view strata.indexes';
-- pg_dump keeps the registrations and the id counter. The vector tables are created later by a
-- function, so they are ordinary tables (not extension members) that pg_dump dumps in full.
SELECT pg_catalog.pg_extension_config_dump('strata.indexes_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('strata.indexes_catalog_id_seq', '');

-- True when the current user has the privileges of the owner of rel (as for ALTER TABLE).
CREATE FUNCTION strata._owns(rel regclass) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c WHERE c.oid = rel $$;

GRANT SELECT, DELETE ON strata.indexes_catalog TO PUBLIC;
GRANT INSERT (label, property, source_type, similarity, dimensions) ON strata.indexes_catalog TO PUBLIC;
GRANT UPDATE (status) ON strata.indexes_catalog TO PUBLIC;
GRANT USAGE ON SEQUENCE strata.indexes_catalog_id_seq TO PUBLIC;
ALTER TABLE strata.indexes_catalog ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON strata.indexes_catalog FOR SELECT USING (true);
CREATE POLICY register ON strata.indexes_catalog FOR INSERT
    WITH CHECK (strata._owns(label) AND status = 'awaiting_vectors' AND vector_table IS NULL);
-- Writers flip an index to ready (never back).
CREATE POLICY mark_ready ON strata.indexes_catalog FOR UPDATE
    USING (pg_catalog.has_table_privilege(label, 'INSERT')) WITH CHECK (status = 'ready');
CREATE POLICY unregister ON strata.indexes_catalog FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = label) OR strata._owns(label));

-- What create_index returns.
CREATE TYPE strata.index_info AS (
    id bigint, label regclass, property name, source_type text, similarity text,
    dimensions integer, status text, created_at timestamptz
);

-- ====================================================================== helpers
-- RAISE with an optional DETAIL and HINT (RAISE ... USING refuses NULL options).
CREATE FUNCTION strata._raise(errcode text, message text, detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    detail := nullif(detail, '');
    hint := nullif(hint, '');
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, HINT = hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, DETAIL = detail, HINT = hint;
    END IF;
END $$;

-- Canonical similarity name: cosine, euclidean (alias l2) or dot (alias inner_product, ip).
CREATE FUNCTION strata._similarity(similarity text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    CASE lower(btrim(similarity))
        WHEN 'cosine' THEN RETURN 'cosine';
        WHEN 'euclidean', 'l2' THEN RETURN 'euclidean';
        WHEN 'dot', 'inner_product', 'ip' THEN RETURN 'dot';
        ELSE RAISE EXCEPTION 'unknown similarity "%"', similarity
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use cosine, euclidean (or l2) or dot.';
    END CASE;
END $$;

-- The label's record id: its single-column primary key, whose (base) type must be built in.
-- Returns the column name, the type to store it as and its COLLATE clause ('' if none).
CREATE FUNCTION strata._record_key(rel regclass, OUT attname name, OUT typname text, OUT collate_clause text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_relkind "char";
    v_persist "char";
    v_cols    name[];
    v_type    oid;
    v_coll    oid;
BEGIN
    SELECT c.relkind, c.relpersistence INTO v_relkind, v_persist FROM pg_class c WHERE c.oid = rel;
    IF v_persist = 't' THEN
        RAISE EXCEPTION 'temporary table % cannot be a label', rel USING ERRCODE = 'feature_not_supported';
    ELSIF v_relkind = 'p' THEN
        RAISE EXCEPTION 'partitioned table % cannot be a label', rel
            USING ERRCODE = 'feature_not_supported', HINT = 'Use an ordinary table.';
    ELSIF v_relkind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT array_agg(a.attname ORDER BY k.ord), min(a.atttypid), min(a.attcollation)
      INTO v_cols, v_type, v_coll
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = rel AND i.indisprimary;
    IF v_cols IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key', rel USING ERRCODE = 'invalid_parameter_value',
            HINT = 'strata uses a single-column primary key as the record id.';
    ELSIF cardinality(v_cols) > 1 THEN
        RAISE EXCEPTION 'table % has a primary key of % columns', rel, cardinality(v_cols)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'strata uses a single-column primary key as the record id.';
    END IF;
    attname := v_cols[1];
    -- domains: store the base type
    WHILE (SELECT t.typtype = 'd' FROM pg_type t WHERE t.oid = v_type) LOOP
        SELECT t.typbasetype INTO v_type FROM pg_type t WHERE t.oid = v_type;
    END LOOP;
    IF v_type NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                      'text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'uuid'::regtype) THEN
        RAISE EXCEPTION 'primary key %.% has type %, which strata does not support as a record id',
                rel, attname, format_type(v_type, NULL)
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Record ids can be smallint, integer, bigint, numeric, text, varchar, char or uuid.';
    END IF;
    typname := format_type(v_type, NULL);
    collate_clause := '';
    IF v_coll <> 0 AND v_coll <> 'default'::regcollation THEN
        SELECT format(' COLLATE %I.%I', n.nspname, co.collname) INTO collate_clause
          FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE co.oid = v_coll;
    END IF;
END $$;

-- The CREATE INDEX statement for a vector table: every vector table gets a `vectors` index,
-- which strata.search's ORDER BY vec <op> $1 streams from (VBASE), so filtered searches
-- return k rows whenever k records match.
CREATE FUNCTION strata._ann_index_ddl(vector_table regclass, similarity text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('CREATE INDEX ON %s USING vectors (vec @extschema@.%s)', vector_table,
                  CASE similarity WHEN 'cosine' THEN 'vector_cos_ops'
                                  WHEN 'euclidean' THEN 'vector_l2_ops'
                                  WHEN 'dot' THEN 'vector_dot_ops' END)
$$;

-- Whether the current user has a privilege on the label of an index: the policies of the
-- vector tables, as `(SELECT strata._label_privilege(id, 'SELECT'))`, an init plan evaluated
-- once per query rather than per row. It names the label through the catalog (not a regclass
-- constant) so that the policies do not stop DROP TABLE of the label.
CREATE FUNCTION strata._label_privilege(index_id bigint, privilege text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce((SELECT has_table_privilege(c.label, privilege)
                             FROM strata.indexes_catalog c WHERE c.id = index_id), false) $$;

-- ====================================================================== storage (definer)
-- Creates the storage of a registered index that has none yet. Anyone may call it: it only
-- makes storage match the catalog, whose rows only label owners can insert.
CREATE FUNCTION strata._create_storage(index_id bigint) RETURNS regclass
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r   strata.indexes_catalog;
    k   record;
    vt  text := format('strata.%I', 'vectors_' || index_id);
    pol text;
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = index_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'index % does not exist', index_id USING ERRCODE = 'undefined_object';
    ELSIF r.vector_table IS NOT NULL THEN
        RETURN r.vector_table;
    END IF;
    k := strata._record_key(r.label);
    EXECUTE format('CREATE TABLE %s (record_id %s%s PRIMARY KEY, vec @extschema@.vector(%s) NOT NULL, '
                   'updated_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
                   vt, k.typname, k.collate_clause, r.dimensions);
    -- Keep vectors inline (up to about 2000 dimensions): no TOAST lookups when scanning.
    EXECUTE format('ALTER TABLE %s ALTER COLUMN vec SET STORAGE MAIN', vt);
    EXECUTE format('COMMENT ON TABLE %s IS %L', vt,
                   format('strata vectors of index %s (%s.%s, %s); managed by strata, do not alter',
                          index_id, r.label, r.property, r.similarity));
    -- Access mirrors the caller's current privileges on the label.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO PUBLIC', vt);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', vt);
    FOR pol IN SELECT unnest('{SELECT,INSERT,UPDATE,DELETE}'::text[]) LOOP
        EXECUTE format('CREATE POLICY %I ON %s FOR %s %s ((SELECT strata._label_privilege(%s, %L)))',
                       'label_' || lower(pol), vt, pol, CASE pol WHEN 'INSERT' THEN 'WITH CHECK' ELSE 'USING' END,
                       index_id, pol);
    END LOOP;
    -- Records must exist (and stay, until commit) for their vectors.
    EXECUTE format('CREATE TRIGGER records_exist AFTER INSERT ON %s REFERENCING NEW TABLE AS strata_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION strata._vectors_inserted(%L)', vt, index_id);
    EXECUTE format('CREATE TRIGGER record_exists AFTER UPDATE OF record_id ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION strata._vector_rekeyed(%L)', vt, index_id);
    -- Deleting, truncating or re-keying records does the same to their vectors.
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS strata_old '
                   'FOR EACH STATEMENT EXECUTE FUNCTION strata._label_deleted(%L)',
                   format('strata_vectors_%s_delete', index_id), r.label, index_id);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION strata._label_truncated(%L)',
                   format('strata_vectors_%s_truncate', index_id), r.label, index_id);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OF %I ON %s FOR EACH ROW '
                   'WHEN (OLD.%I IS DISTINCT FROM NEW.%I) EXECUTE FUNCTION strata._label_rekeyed(%L)',
                   format('strata_vectors_%s_rekey', index_id), k.attname, r.label,
                   k.attname, k.attname, index_id);
    EXECUTE strata._ann_index_ddl(vt::regclass, r.similarity);
    UPDATE strata.indexes_catalog c SET vector_table = vt::regclass WHERE c.id = index_id;
    RETURN vt::regclass;
END $$;

-- Drops the storage of an index that is no longer registered (no-op for registered ones).
CREATE FUNCTION strata._drop_storage(index_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
BEGIN
    IF EXISTS (SELECT FROM strata.indexes_catalog c WHERE c.id = index_id) THEN
        RETURN;
    END IF;
    FOR t IN SELECT tg.tgname, tg.tgrelid::regclass AS rel FROM pg_trigger tg
              WHERE tg.tgname IN (format('strata_vectors_%s_delete', index_id),
                                  format('strata_vectors_%s_truncate', index_id),
                                  format('strata_vectors_%s_rekey', index_id))
                AND tg.tgfoid IN ('strata._label_deleted()'::regprocedure,
                                  'strata._label_truncated()'::regprocedure,
                                  'strata._label_rekeyed()'::regprocedure) LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS strata.%I', 'vectors_' || index_id);
END $$;

-- The catalog row a strata trigger works for; refuses triggers attached to other tables.
CREATE FUNCTION strata._trigger_index(arg text, relid oid, on_label boolean) RETURNS strata.indexes_catalog
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog;
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = arg::bigint;
    IF FOUND AND relid IS DISTINCT FROM (CASE WHEN on_label THEN r.label ELSE r.vector_table END) THEN
        RAISE EXCEPTION 'strata trigger for index % fired on table %', arg, relid::regclass
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN r;  -- all NULL when the index is gone (being dropped): nothing to maintain
END $$;

CREATE FUNCTION strata._label_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog := strata._trigger_index(TG_ARGV[0], TG_RELID, true);
BEGIN
    IF r.vector_table IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s v USING strata_old o WHERE v.record_id = o.%I',
                       r.vector_table, (strata._record_key(r.label)).attname);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION strata._label_truncated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog := strata._trigger_index(TG_ARGV[0], TG_RELID, true);
BEGIN
    IF r.vector_table IS NOT NULL THEN
        EXECUTE format('TRUNCATE %s', r.vector_table);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION strata._label_rekeyed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r   strata.indexes_catalog := strata._trigger_index(TG_ARGV[0], TG_RELID, true);
    key name;
BEGIN
    IF r.vector_table IS NOT NULL THEN
        key := (strata._record_key(r.label)).attname;
        EXECUTE format('UPDATE %s SET record_id = ($1).%I WHERE record_id = ($2).%I', r.vector_table, key, key)
            USING NEW, OLD;
    END IF;
    RETURN NULL;
END $$;

-- Locks the records of new vectors FOR KEY SHARE and fails (23503) when one does not exist.
CREATE FUNCTION strata._lock_records(r strata.indexes_catalog, ids text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       record := strata._record_key(r.label);
    locked  bigint;
    wanted  bigint;
    missing text;
BEGIN
    FOR attempt IN 1 .. 3 LOOP
        -- In record id order, the order strata's writers lock records and vectors in.
        EXECUTE format('SELECT (SELECT count(*) FROM (SELECT FROM %s l WHERE l.%I = ANY ($1::%s[]) ORDER BY l.%I '
                       'FOR KEY SHARE OF l) s), (SELECT count(DISTINCT x) FROM unnest($1::%s[]) x)',
                       r.label, k.attname, k.typname, k.attname, k.typname)
            USING ids INTO locked, wanted;
        IF locked = wanted THEN
            RETURN;
        END IF;
        -- Which one is missing, seen by a new statement (read committed: a new snapshot)?
        EXECUTE format('SELECT n.id FROM unnest($1) n(id) WHERE NOT EXISTS (SELECT FROM %s l WHERE l.%I = n.id::%s) '
                       'ORDER BY 1 LIMIT 1', r.label, k.attname, k.typname)
            USING ids INTO missing;
        EXIT WHEN missing IS NOT NULL;
        -- None: a record was deleted and inserted again while we waited for its lock. Retry.
    END LOOP;
    RAISE EXCEPTION 'record % does not exist in table %', coalesce(missing, '(changed concurrently)'), r.label
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Vectors of index %s need an existing record.', r.id);
END $$;

CREATE FUNCTION strata._vectors_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog := strata._trigger_index(TG_ARGV[0], TG_RELID, false);
BEGIN
    IF r.id IS NOT NULL THEN
        -- record_id is the vector table's primary key: the ids are distinct
        PERFORM strata._lock_records(r, ARRAY(SELECT n.record_id::text FROM strata_new n));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION strata._vector_rekeyed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog := strata._trigger_index(TG_ARGV[0], TG_RELID, false);
BEGIN
    IF r.id IS NOT NULL AND OLD.record_id IS DISTINCT FROM NEW.record_id THEN
        PERFORM strata._lock_records(r, ARRAY[NEW.record_id::text]);
    END IF;
    RETURN NULL;
END $$;

-- ====================================================================== index lifecycle
CREATE FUNCTION strata.create_index(label regclass, property name, dimensions integer,
                                    similarity text DEFAULT 'cosine', source_type text DEFAULT 'external')
    RETURNS strata.index_info
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_sim  text;
    v_id   bigint;
    v_info strata.index_info;
BEGIN
    IF label IS NULL OR property IS NULL OR dimensions IS NULL OR similarity IS NULL OR source_type IS NULL THEN
        RAISE EXCEPTION 'strata.create_index: arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lower(source_type) = 'managed' THEN
        RAISE EXCEPTION 'managed indexes are not supported' USING ERRCODE = 'feature_not_supported',
            HINT = 'strata does not compute embeddings: create an external index and write your own vectors.';
    ELSIF lower(source_type) <> 'external' THEN
        RAISE EXCEPTION 'unknown source_type "%"', source_type USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use external.';
    END IF;
    v_sim := strata._similarity(similarity);
    IF dimensions NOT BETWEEN 1 AND 65535 THEN
        RAISE EXCEPTION 'dimensions must be between 1 and 65535, not %', dimensions
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM strata._record_key(create_index.label);
    IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = create_index.label
                      AND a.attname = create_index.property AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', property, label
            USING ERRCODE = 'undefined_column';
    END IF;
    IF NOT strata._owns(create_index.label) THEN
        RAISE EXCEPTION 'must be owner of table %', label USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT c.id INTO v_id FROM strata.indexes_catalog c
     WHERE c.label = create_index.label AND c.property = create_index.property AND c.source_type = 'external'
       AND c.similarity = v_sim AND c.dimensions = create_index.dimensions;
    IF FOUND THEN
        RAISE EXCEPTION 'index % already exists for %.% (external, %, % dimensions)',
                v_id, label, property, v_sim, dimensions
            USING ERRCODE = 'unique_violation';
    END IF;
    BEGIN
        INSERT INTO strata.indexes_catalog (label, property, source_type, similarity, dimensions)
        VALUES (create_index.label, create_index.property, 'external', v_sim, create_index.dimensions)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- created concurrently
        RAISE EXCEPTION 'index for %.% (external, %, % dimensions) already exists', label, property,
                v_sim, dimensions
            USING ERRCODE = 'unique_violation';
    END;
    PERFORM strata._create_storage(v_id);
    SELECT c.id, c.label, c.property, c.source_type, c.similarity, c.dimensions, c.status, c.created_at
      INTO v_info FROM strata.indexes_catalog c WHERE c.id = v_id;
    RETURN v_info;
END $$;

CREATE FUNCTION strata.drop_index(index_id bigint, if_exists boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog;
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = index_id;
    IF NOT FOUND THEN
        IF if_exists THEN
            RAISE NOTICE 'index % does not exist, skipping', index_id;
            RETURN;
        END IF;
        RAISE EXCEPTION 'index % does not exist', index_id USING ERRCODE = 'undefined_object';
    END IF;
    -- (an index whose label is gone can be unregistered by anyone)
    IF NOT coalesce(strata._owns(r.label), true) THEN
        RAISE EXCEPTION 'must be owner of table %', r.label USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM strata.indexes_catalog c WHERE c.id = index_id;
    PERFORM strata._drop_storage(index_id);
END $$;

-- Unregisters indexes whose label, property column or vector table is dropped.
CREATE FUNCTION strata._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    IF to_regclass('strata.indexes_catalog') IS NULL THEN
        RETURN;  -- the extension itself is being dropped
    END IF;
    FOR v_id IN
        SELECT DISTINCT c.id FROM strata.indexes_catalog c
          JOIN pg_event_trigger_dropped_objects() d ON d.classid = 'pg_class'::regclass
         WHERE (d.objsubid = 0 AND d.objid IN (c.label, c.vector_table))
            OR (d.object_type = 'table column' AND d.objid = c.label AND d.address_names[3] = c.property)
    LOOP
        DELETE FROM strata.indexes_catalog c WHERE c.id = v_id;
        PERFORM strata._drop_storage(v_id);
    END LOOP;
EXCEPTION WHEN OTHERS THEN
    -- This runs for every DROP in the database: never let it stand in the way of one.
    RAISE WARNING 'strata: could not unregister the indexes of dropped objects: %', SQLERRM
        USING HINT = 'Unregister them with strata.drop_index.';
END $$;
CREATE EVENT TRIGGER strata_byov_sql_drop ON sql_drop EXECUTE FUNCTION strata._on_sql_drop();

-- ====================================================================== index lookup
-- The index a write or search means: by label and property, then similarity (required when
-- several indexes cover the property), then dimensions (when given and still ambiguous).
CREATE FUNCTION strata._resolve_index(label regclass, property name, similarity text, dims integer)
    RETURNS strata.indexes_catalog
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_sim   text := CASE WHEN similarity IS NOT NULL THEN strata._similarity(similarity) END;
    v_all   strata.indexes_catalog[];
    v_cands strata.indexes_catalog[];
    r       strata.indexes_catalog;
BEGIN
    SELECT array_agg(c ORDER BY c.id) INTO v_all FROM strata.indexes_catalog c
     WHERE c.label = _resolve_index.label AND c.property = _resolve_index.property;
    IF v_all IS NULL THEN
        RAISE EXCEPTION 'no index on %.%', label, property USING ERRCODE = 'undefined_object',
            HINT = 'Create one with strata.create_index.';
    END IF;
    IF v_sim IS NULL THEN
        IF cardinality(v_all) > 1 THEN
            RAISE EXCEPTION 'several indexes on %.%: specify similarity', label, property
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = (SELECT string_agg(format('index %s: %s, %s dimensions', x.id, x.similarity,
                                                         x.dimensions), '; ' ORDER BY x.id)
                                  FROM unnest(v_all) x);
        END IF;
        v_cands := v_all;
    ELSE
        SELECT array_agg(x ORDER BY x.id) INTO v_cands FROM unnest(v_all) x WHERE x.similarity = v_sim;
        IF v_cands IS NULL THEN
            RAISE EXCEPTION 'no % index on %.%', v_sim, label, property USING ERRCODE = 'undefined_object',
                DETAIL = (SELECT string_agg(format('index %s: %s, %s dimensions', x.id, x.similarity,
                                                   x.dimensions), '; ' ORDER BY x.id) FROM unnest(v_all) x);
        END IF;
    END IF;
    IF cardinality(v_cands) > 1 AND dims IS NOT NULL THEN
        SELECT array_agg(x ORDER BY x.id) INTO v_cands FROM unnest(v_cands) x WHERE x.dimensions = dims;
        IF v_cands IS NULL THEN
            RAISE EXCEPTION 'no % index on %.% has % dimensions', v_sim, label, property, dims
                USING ERRCODE = 'data_exception';
        END IF;
    END IF;
    IF cardinality(v_cands) > 1 THEN
        RAISE EXCEPTION 'several % indexes on %.%: specify dimensions', v_sim, label, property
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    r := v_cands[1];
    IF dims IS NOT NULL AND dims <> r.dimensions THEN
        RAISE EXCEPTION 'expected % dimensions, not %', r.dimensions, dims USING ERRCODE = 'data_exception',
            DETAIL = format('Index %s (%s.%s, %s) has %s dimensions.', r.id, r.label, r.property,
                            r.similarity, r.dimensions);
    END IF;
    IF r.vector_table IS NULL THEN
        RAISE EXCEPTION 'index % has no storage', r.id USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Register indexes with strata.create_index.';
    END IF;
    RETURN r;
END $$;

CREATE FUNCTION strata._check_privileges(rel regclass, privileges text[], caller text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM unnest(privileges) p WHERE NOT has_table_privilege(rel, p)) THEN
        RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('%s needs %s on the label table.', caller, array_to_string(privileges, ', '));
    END IF;
END $$;

-- ====================================================================== writing vectors
-- Writes (record id as text, vector) pairs into an index after validating the whole batch;
-- nothing is written when any pair is invalid. ids_what/vecs_what/base name the items in
-- messages (items[0] for JSON, record_ids[1] for SQL arrays). upsert = false is for records
-- inserted by this call (plain INSERT, no existence check needed). Last duplicate wins.
CREATE FUNCTION strata._write_vectors(r strata.indexes_catalog, ids text[], vecs @extschema@.vector[],
                                      ids_what text, vecs_what text, base integer, upsert boolean)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k       record := strata._record_key(r.label);
    n       integer := coalesce(cardinality(ids), 0);
    i       integer;
    v_count bigint;
    v_state text;
    v_msg   text;
BEGIN
    IF n <> coalesce(cardinality(vecs), 0) THEN
        RAISE EXCEPTION '% and % have different lengths (% and %)', ids_what, vecs_what, n,
                coalesce(cardinality(vecs), 0)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT min(o) INTO i FROM unnest(ids) WITH ORDINALITY u(id, o) WHERE id IS NULL;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%]: record id is null', ids_what, i - 1 + base USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT min(o) INTO i FROM unnest(vecs) WITH ORDINALITY u(v, o) WHERE v IS NULL;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%] (record %): vector is null', vecs_what, i - 1 + base, ids[i]
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT min(o) INTO i FROM unnest(vecs) WITH ORDINALITY u(v, o)
     WHERE @extschema@.vector_dims(v) <> r.dimensions;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%] (record %): expected % dimensions, not %', vecs_what, i - 1 + base, ids[i],
                r.dimensions, @extschema@.vector_dims(vecs[i])
            USING ERRCODE = 'data_exception';
    END IF;
    -- Record ids must parse as the key type, and (for upserts) name existing records.
    BEGIN
        EXECUTE format('SELECT min(u.o) FROM unnest($1) WITH ORDINALITY u(id, o) '
                       'WHERE %s AND NOT EXISTS (SELECT FROM %s l WHERE l.%I = u.id::%s)',
                       upsert::text, r.label, k.attname, k.typname)
            USING ids INTO i;
    EXCEPTION WHEN OTHERS THEN
        FOR j IN 1 .. n LOOP
            BEGIN
                EXECUTE format('SELECT $1::%s', k.typname) USING ids[j];
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
                RAISE EXCEPTION '%[%]: %', ids_what, j - 1 + base, v_msg USING ERRCODE = v_state;
            END;
        END LOOP;
        RAISE;
    END;
    IF i IS NOT NULL THEN
        RAISE EXCEPTION '%[%]: record % does not exist in table %', ids_what, i - 1 + base, ids[i], r.label
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Lock order, the same for every writer: the records FOR KEY SHARE (by record id, before
    -- any vector, as a DELETE of records locks them before their vectors), then the vectors
    -- (sorted by record id), then, without waiting, the catalog row (the status).
    IF upsert THEN
        PERFORM strata._lock_records(r, ids);
    END IF;
    EXECUTE format('INSERT INTO %s AS v (record_id, vec, updated_at) '
                   'SELECT DISTINCT ON (s.id) s.id, s.vec, pg_catalog.now() '
                   'FROM (SELECT u.id::%s AS id, u.vec, u.o FROM unnest($1, $2) WITH ORDINALITY u(id, vec, o)) s '
                   'ORDER BY s.id, s.o DESC %s',
                   r.vector_table, k.typname,
                   CASE WHEN upsert THEN 'ON CONFLICT (record_id) DO UPDATE SET vec = EXCLUDED.vec, '
                                         'updated_at = EXCLUDED.updated_at' ELSE '' END)
        USING ids, vecs;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 AND r.status = 'awaiting_vectors' THEN
        -- Flip the index to ready unless another writer is flipping it: waiting for that
        -- writer's commit would serialise the first loads (and deadlock two writers that go on
        -- to write each other's records). Should that writer roll back, the stored status lags,
        -- but strata.indexes derives ready from the vectors themselves.
        UPDATE strata.indexes_catalog c SET status = 'ready'
         WHERE c.id = (SELECT x.id FROM strata.indexes_catalog x WHERE x.id = r.id AND x.status = 'awaiting_vectors'
                          FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN v_count;
END $$;

-- items: [{"recordId": ..., "vector": [...]}, ...] (or {"items": [...]}, as RushDB sends it),
-- parsed in Rust (crates/strata-byov/src/items.rs) into record ids and vectors, which then take
-- the array form's path.
CREATE FUNCTION strata._parse_items(items jsonb, OUT record_ids text[], OUT vectors @extschema@.vector[])
    AS 'MODULE_PATHNAME', 'strata_parse_items' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION strata.upsert_vectors(index_id bigint, items jsonb) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r      strata.indexes_catalog;
    v_ids  text[];
    v_vecs @extschema@.vector[];
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = index_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'index % does not exist', index_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM strata._check_privileges(r.label, '{SELECT,INSERT,UPDATE}', 'strata.upsert_vectors');
    SELECT p.record_ids, p.vectors INTO v_ids, v_vecs FROM strata._parse_items(items) p;
    RETURN strata._write_vectors(r, v_ids, v_vecs, 'items', 'items', 0, true);
END $$;

-- The array form for bulk loads from SQL: record_ids[i] gets vectors[i].
CREATE FUNCTION strata.upsert_vectors(index_id bigint, record_ids anyarray, vectors @extschema@.vector[])
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r strata.indexes_catalog;
BEGIN
    SELECT * INTO r FROM strata.indexes_catalog c WHERE c.id = index_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'index % does not exist', index_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM strata._check_privileges(r.label, '{SELECT,INSERT,UPDATE}', 'strata.upsert_vectors');
    IF array_ndims(record_ids) > 1 OR array_ndims(vectors) > 1 THEN
        RAISE EXCEPTION 'record_ids and vectors must be one-dimensional arrays'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN strata._write_vectors(r, record_ids::text[], vectors, 'record_ids', 'vectors', 1, true);
END $$;

-- ====================================================================== inline writes
-- The vector entries of every record at once (one list per record, or null), parsed and
-- checked in Rust (crates/strata-byov/src/entries.rs): one array element per entry. The first
-- invalid list or entry comes back in the error columns, with its record, for insert_records to
-- raise when its loop reaches that record (after the columns of the records before it and the
-- indexes of the entries before it, as when the loop checked the entries itself).
CREATE FUNCTION strata._parse_vector_entries(lists jsonb, OUT records integer[], OUT properties text[],
                                             OUT similarities text[], OUT vectors @extschema@.vector[],
                                             OUT error_record integer, OUT error_sqlstate text,
                                             OUT error_message text, OUT error_hint text)
    AS 'MODULE_PATHNAME', 'strata_parse_vector_entries' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Inserts records (a JSON object, or an array of them; keys are column names) and their vectors
-- in one transaction. Vectors per record: [{"propertyName": ..., "vector": [...],
-- "similarity": ...}], either inline under the key "__vectors" or in the vectors argument (an
-- array of such lists for an array of records, one list for a single record).
CREATE FUNCTION strata.insert_records(label regclass, records jsonb, vectors jsonb DEFAULT NULL)
    RETURNS TABLE (record_id text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k        record;
    v_single boolean := jsonb_typeof(records) = 'object';
    v_recs   jsonb;
    v_vecs   jsonb;
    v_n      integer;
    v_rec    jsonb;
    v_cols   text;
    v_id     text;
    v_ids    text[] := '{}';
    v_bad    text;
    v_hint   text;
    r        strata.indexes_catalog;
    -- the vector entries (strata._parse_vector_entries), one element per entry, and the first
    -- invalid one
    e_rec    integer[];
    e_prop   text[];
    e_sim    text[];
    e_vec    @extschema@.vector[];
    e_err    integer;
    e_state  text;
    e_msg    text;
    e_hint   text;
    v_p      integer := 1;  -- the next entry
    v_j      integer;       -- its position in its record's list
    -- each entry's index
    w_index  bigint[] := '{}';
    v_where  text;
    v_state  text;
    v_msg    text;
    v_detail text;
BEGIN
    IF label IS NULL OR records IS NULL THEN
        RAISE EXCEPTION 'strata.insert_records: label and records must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM strata._check_privileges(label, '{INSERT}', 'strata.insert_records');
    k := strata._record_key(label);
    v_recs := CASE WHEN v_single THEN jsonb_build_array(records) ELSE records END;
    IF jsonb_typeof(v_recs) <> 'array' THEN
        RAISE EXCEPTION 'records must be a JSON object or an array of objects' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_n := jsonb_array_length(v_recs);
    -- Vector lists, one per record.
    IF vectors IS NOT NULL AND jsonb_typeof(vectors) <> 'null' THEN
        IF EXISTS (SELECT FROM jsonb_array_elements(v_recs) e WHERE e ? '__vectors') THEN
            RAISE EXCEPTION 'vectors given both inline ("__vectors") and in the vectors argument'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_vecs := CASE WHEN v_single THEN jsonb_build_array(vectors) ELSE vectors END;
        IF jsonb_typeof(v_vecs) <> 'array' OR jsonb_array_length(v_vecs) <> v_n THEN
            RAISE EXCEPTION 'vectors must be %', CASE WHEN v_single THEN 'a JSON array of vector entries'
                ELSE format('a JSON array of %s lists of vector entries, one per record', v_n) END
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        SELECT coalesce(jsonb_agg(coalesce(e -> '__vectors', 'null') ORDER BY o), '[]') INTO v_vecs
          FROM jsonb_array_elements(v_recs) WITH ORDINALITY t(e, o);
    END IF;
    SELECT p.records, p.properties, p.similarities, p.vectors,
           p.error_record, p.error_sqlstate, p.error_message, p.error_hint
      INTO e_rec, e_prop, e_sim, e_vec, e_err, e_state, e_msg, e_hint
      FROM strata._parse_vector_entries(v_vecs) p;
    -- Validate everything before writing anything.
    FOR i IN 0 .. v_n - 1 LOOP
        v_rec := v_recs -> i;
        IF jsonb_typeof(v_rec) <> 'object' THEN
            RAISE EXCEPTION 'records[%] must be a JSON object', i USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT x.key INTO v_bad FROM jsonb_object_keys(v_rec - '__vectors') x(key)
         WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = label AND a.attname = x.key
                              AND a.attnum > 0 AND NOT a.attisdropped)
         ORDER BY 1 LIMIT 1;
        IF FOUND THEN
            SELECT format('Did you mean "%s"?', a.attname) INTO v_hint FROM pg_attribute a
             WHERE a.attrelid = label AND lower(a.attname) = lower(v_bad) AND a.attnum > 0 AND NOT a.attisdropped
             LIMIT 1;
            PERFORM strata._raise('42703', format('records[%s]: column "%s" of relation "%s" does not exist',
                                                  i, v_bad, label), NULL, v_hint);
        END IF;
        v_j := 0;
        WHILE v_p <= cardinality(e_rec) AND e_rec[v_p] = i LOOP
            v_where := format('records[%s].vectors[%s]', i, v_j);
            BEGIN
                r := strata._resolve_index(label, e_prop[v_p]::name, e_sim[v_p],
                                           @extschema@.vector_dims(e_vec[v_p]));
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                        v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
                PERFORM strata._raise(v_state, v_where || ': ' || v_msg, v_detail, v_hint);
            END;
            w_index := w_index || r.id;
            v_p := v_p + 1;
            v_j := v_j + 1;
        END LOOP;
        IF e_err = i THEN
            PERFORM strata._raise(e_state, e_msg, NULL, e_hint);
        END IF;
    END LOOP;
    -- Insert the records, each with exactly its own columns so the others get their defaults.
    FOR i IN 0 .. v_n - 1 LOOP
        v_rec := (v_recs -> i) - '__vectors';
        SELECT string_agg(format('%I', x.key), ', ' ORDER BY x.key) INTO v_cols FROM jsonb_object_keys(v_rec) x(key);
        IF v_cols IS NULL THEN
            EXECUTE format('INSERT INTO %s DEFAULT VALUES RETURNING %I::text', label, k.attname) INTO v_id;
        ELSE
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) RETURNING %I::text',
                           label, v_cols, v_cols, label, k.attname)
                USING v_rec INTO v_id;
        END IF;
        v_ids := v_ids || v_id;
    END LOOP;
    -- Then their vectors, one batch per index.
    FOR r IN SELECT c.* FROM strata.indexes_catalog c WHERE c.id = ANY (w_index) ORDER BY c.id LOOP
        PERFORM strata._write_vectors(r,
                    ARRAY(SELECT v_ids[e_rec[p] + 1] FROM generate_subscripts(w_index, 1) p
                           WHERE w_index[p] = r.id ORDER BY p),
                    ARRAY(SELECT e_vec[p] FROM generate_subscripts(w_index, 1) p
                           WHERE w_index[p] = r.id ORDER BY p),
                    'records', 'vectors', 0, false);
    END LOOP;
    RETURN QUERY SELECT x FROM unnest(v_ids) x;
END $$;

-- ====================================================================== search
-- RushDB's `where` as a SQL condition over the label row `l`, compiled in Rust
-- (crates/strata-byov/src/filter.rs) from the label's columns as the catalog describes them.
-- Values are never interpolated: they are read from the filter itself, passed as parameter
-- `param`, by path.
CREATE FUNCTION strata._compile_filter(filter jsonb, relation text, record_key text, names text[],
                                       type_names text[], element_type_names text[],
                                       base_is_jsonb boolean[], categories text[], param text)
    RETURNS text AS 'MODULE_PATHNAME', 'strata_compile_filter_wrapper' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- A domain's base type (the type itself for others).
CREATE FUNCTION strata._base_type(t oid) RETURNS oid
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WHILE (SELECT y.typtype = 'd' FROM pg_type y WHERE y.oid = t) LOOP
        SELECT y.typbasetype INTO t FROM pg_type y WHERE y.oid = t;
    END LOOP;
    RETURN t;
END $$;

-- Each live user column: its name, declared type, and for an array (other than jsonb itself)
-- its element type; then whether the (element's) base type through domains is jsonb and its
-- type category, which decide how operands are cast and which operators apply. record_key is
-- the label's primary key ((strata._record_key(rel)).attname, which the callers have at hand).
-- The PL/pgSQL strata._base_type runs for domains only: this runs on every search.
CREATE FUNCTION strata._filter_sql(rel regclass, filter jsonb, param text, record_key name) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT strata._compile_filter(filter, rel::text, record_key,
               coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}'),
               coalesce(array_agg(format_type(a.atttypid, NULL) ORDER BY a.attnum), '{}'),
               coalesce(array_agg(CASE WHEN t.is_array THEN format_type(t.typelem, NULL) END ORDER BY a.attnum), '{}'),
               coalesce(array_agg(b.oid = 'jsonb'::regtype ORDER BY a.attnum), '{}'),
               coalesce(array_agg(b.typcategory::text ORDER BY a.attnum), '{}'),
               param)
      FROM pg_attribute a
     JOIN pg_type d ON d.oid = a.atttypid
     CROSS JOIN LATERAL (SELECT y.typcategory = 'A' AND y.typelem <> 0 AS is_array, y.typelem, y.oid FROM pg_type y
                          WHERE y.oid = CASE WHEN d.typtype = 'd' THEN strata._base_type(d.oid) ELSE d.oid END) t
     LEFT JOIN pg_type e ON t.is_array AND e.oid = t.typelem
     CROSS JOIN LATERAL (SELECT y.oid, y.typcategory FROM pg_type y
                          WHERE y.oid = CASE WHEN NOT t.is_array THEN t.oid
                                             WHEN e.typtype = 'd' THEN strata._base_type(e.oid) ELSE e.oid END) b
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;

CREATE FUNCTION strata.search(label regclass, property name, query_vector @extschema@.vector,
                              filter jsonb DEFAULT NULL, k integer DEFAULT 20, skip integer DEFAULT 0,
                              similarity text DEFAULT NULL)
    RETURNS TABLE (record_id text, score real, record jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r      strata.indexes_catalog;
    v_need bigint;
BEGIN
    IF label IS NULL OR property IS NULL OR query_vector IS NULL THEN
        RAISE EXCEPTION 'strata.search: label, property and query_vector must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    ELSIF k IS NULL OR k < 0 THEN
        RAISE EXCEPTION 'k must be zero or more, not %', coalesce(k::text, 'null') USING ERRCODE = 'invalid_parameter_value';
    ELSIF skip IS NULL OR skip < 0 THEN
        RAISE EXCEPTION 'skip must be zero or more, not %', coalesce(skip::text, 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- k + skip rows are ranked; both are integers, so their sum must be one too.
    v_need := k::bigint + skip;
    IF v_need > 2147483647 THEN
        RAISE EXCEPTION 'k + skip must be at most 2147483647, not % (k %, skip %)', v_need, k, skip
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM strata._check_privileges(label, '{SELECT}', 'strata.search');
    r := strata._resolve_index(label, property, similarity, @extschema@.vector_dims(query_vector));
    IF k = 0 THEN
        RETURN;
    END IF;
    IF strata._search_exactly(r, filter) THEN
        RETURN QUERY EXECUTE strata._search_sql(r, filter, true) USING query_vector, filter, k, skip;
    ELSE
        RETURN QUERY SELECT * FROM strata._search_index(r, query_vector, filter, k, skip);
    END IF;
END $$;

-- Whether strata.search ranks every matching record exactly rather than streaming the ANN
-- index: always without a (valid) index; with one, when the planner estimates that the filter
-- matches at most strata.exact_search_rows records. Then computing each match's distance is
-- cheaper than streaming the index past the records the filter rejects, and exact. The choice
-- does not depend on k or skip, so all pages of a search take the same path. (VOLATILE only
-- because PostgreSQL refuses EXPLAIN in other functions; it changes nothing.)
CREATE FUNCTION strata._search_exactly(r strata.indexes_catalog, filter jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_limit bigint := coalesce(nullif(current_setting('strata.exact_search_rows', true), ''), '1000')::bigint;
    v_plan  jsonb;
    v_key   name;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
                    WHERE i.indrelid = r.vector_table AND a.amname = 'vectors' AND i.indisvalid) THEN
        RETURN true;
    ELSIF v_limit <= 0 OR filter IS NULL OR jsonb_typeof(filter) = 'null' THEN
        RETURN false;  -- no filter: every record matches, so the index is the way
    END IF;
    v_key := (strata._record_key(r.label)).attname;
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT FROM %s v JOIN %s l ON l.%I = v.record_id WHERE %s',
                   r.vector_table, r.label, v_key, strata._filter_sql(r.label, filter, '$1', v_key))
        USING filter INTO v_plan;
    RETURN (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8 <= v_limit;
END $$;

-- The score of distance d: cosine similarity 1 - cosine distance (1 for the same direction);
-- euclidean 1 / (1 + distance), in (0, 1]; dot: the dot product. Best first = smallest
-- distance first: the score never increases with the distance.
CREATE FUNCTION strata._score_sql(similarity text, d text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(CASE similarity WHEN 'cosine' THEN '(1 - %s)::real' WHEN 'euclidean' THEN '(1 / (1 + sqrt(%s)))::real'
                                  ELSE '(- %s)::real' END, d)
$$;

-- The queries of strata.search, with parameters $1 query vector, $2 filter and, for the exact
-- ranking, $3 k and $4 skip. exact: every match ranked by score then record id, whose ORDER BY
-- (on the score, not the bare distance) no index can serve. Otherwise: (record_id, score)
-- streamed from the ANN index in distance order, for strata._search_index.
CREATE FUNCTION strata._search_sql(r strata.indexes_catalog, filter jsonb, exact boolean) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_dist text := format('(v.vec OPERATOR(@extschema@.%s) $1)',
                          CASE r.similarity WHEN 'cosine' THEN '<=>' WHEN 'euclidean' THEN '<->' ELSE '<#>' END);
    v_key  name := (strata._record_key(r.label)).attname;
    v_from text := format('%s v JOIN %s l ON l.%I = v.record_id WHERE %s', r.vector_table, r.label,
                          v_key, strata._filter_sql(r.label, filter, '$2', v_key));
BEGIN
    IF exact THEN
        -- The records of the page only are turned into JSON (after the sort, not for every match).
        RETURN format('SELECT s.record_id::text, s.score, to_jsonb(l.*) FROM ('
                      'SELECT v.record_id, %s AS score FROM %s ORDER BY score DESC, v.record_id LIMIT $3 OFFSET $4) s '
                      'JOIN %s l ON l.%I = s.record_id ORDER BY s.score DESC, s.record_id',
                      strata._score_sql(r.similarity, v_dist), v_from, r.label, (strata._record_key(r.label)).attname);
    END IF;
    RETURN format('SELECT v.record_id::text, %s AS score FROM %s ORDER BY %s',
                  strata._score_sql(r.similarity, v_dist), v_from, v_dist);
END $$;

-- A page of an ANN search. The index streams rows in non-decreasing distance
-- (strata.scan_order = strict: rows the graph search finds late are dropped rather than
-- returned out of place), so every prefix of the stream holds the nearest rows of the
-- stream. The page is taken from the prefix that ends before the first row scoring below
-- the (k + skip)-th one: all rows tied with the last one needed are in it, and sorting it
-- by score and record id gives the same first k + skip rows however far past them the
-- prefix was read. So pages agree with each other and with one larger call. The margin
-- covers the rounding by which the SQL operator's distance and the index's may differ.
CREATE FUNCTION strata._search_index(r strata.indexes_catalog, query_vector @extschema@.vector, filter jsonb,
                                     k integer, skip integer)
    RETURNS TABLE (record_id text, score real, record jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET strata.scan_order = 'strict' AS $$
DECLARE
    v_need   bigint := k::bigint + skip;
    v_read   bigint := v_need + v_need / 2 + 16;
    v_sql    text := strata._search_sql(r, filter, false);
    v_key    record := strata._record_key(r.label);
    v_ids    text[];
    v_scores real[];
    v_got    bigint;
    v_cut    bigint;
    v_floor  float8;
BEGIN
    LOOP
        EXECUTE format('SELECT array_agg(s.record_id), array_agg(s.score) FROM (%s LIMIT $3) s', v_sql)
            USING query_vector, filter, v_read INTO v_ids, v_scores;
        v_got := coalesce(cardinality(v_ids), 0);
        IF v_got < v_need THEN
            v_cut := v_got;  -- the stream ran out: every row it gives is here
            EXIT;
        END IF;
        v_floor := v_scores[v_need] - 1e-4 * greatest(1, abs(v_scores[v_need]));
        SELECT min(u.o) - 1 INTO v_cut FROM unnest(v_scores) WITH ORDINALITY u(s, o)
         WHERE u.o > v_need AND u.s < v_floor;
        IF v_cut IS NOT NULL OR v_got < v_read THEN
            v_cut := coalesce(v_cut, v_got);
            EXIT;
        END IF;
        v_read := v_read * 4;  -- still tied with the last row needed: read further
    END LOOP;
    RETURN QUERY EXECUTE format(
        'SELECT u.id, u.score, to_jsonb(l.*) FROM unnest($1[1:$2], $3[1:$2]) u(id, score) '
        'JOIN %s l ON l.%I = u.id::%s ORDER BY u.score DESC, l.%I LIMIT $4 OFFSET $5',
        r.label, v_key.attname, v_key.typname, v_key.attname)
        USING v_ids, v_cut, v_scores, k, skip;
END $$;

-- ====================================================================== the view
CREATE FUNCTION strata._count(rel regclass, readable regclass) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF rel IS NULL OR NOT has_table_privilege(readable, 'SELECT') THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
    RETURN n;
END $$;

-- Whether an index holds any vector, whoever asks (the status is public, as in the catalog).
CREATE FUNCTION strata._has_vectors(index_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table regclass := (SELECT c.vector_table FROM strata.indexes_catalog c WHERE c.id = index_id);
    v_found boolean;
BEGIN
    IF v_table IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', v_table) INTO v_found;
    RETURN v_found;
END $$;

-- The status is ready once a vector was written: as stored, or (when the writer that stored it
-- rolled back while another's vectors committed, see _write_vectors) from the vectors.
CREATE VIEW strata.indexes AS
SELECT c.id, c.label, c.property, c.source_type, c.similarity, c.dimensions,
       CASE WHEN c.status = 'ready' OR strata._has_vectors(c.id) THEN 'ready' ELSE c.status END AS status,
       strata._count(c.label, c.label) AS records,
       strata._count(c.vector_table, c.label) AS vectors,
       c.created_at, c.vector_table
  FROM strata.indexes_catalog c;
COMMENT ON VIEW strata.indexes IS
    'External indexes with status and stats (records in the label table, records with a vector; '
    'NULL when you cannot read the label)';
GRANT SELECT ON strata.indexes TO PUBLIC;
