-- Kyma catalog schema, version 1. Applied once, in a transaction, by PostgresCatalog.migrate().
-- Never edit a released migration: add the next numbered file instead.

CREATE TABLE tables (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    schema      jsonb NOT NULL DEFAULT '[]',
    format_name text NOT NULL,
    options     jsonb NOT NULL DEFAULT '{}',
    time_column text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE extents (
    id             uuid PRIMARY KEY,
    table_id       bigint NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    format_name    text NOT NULL,
    format_version integer NOT NULL,
    object_key     text NOT NULL UNIQUE,
    byte_size      bigint NOT NULL CHECK (byte_size >= 0),
    row_count      bigint NOT NULL CHECK (row_count >= 0),
    min_time_ns    bigint NOT NULL,
    max_time_ns    bigint NOT NULL CHECK (min_time_ns <= max_time_ns),
    column_stats   jsonb NOT NULL DEFAULT '{}',
    present_paths  text[] NOT NULL DEFAULT '{}',
    summaries      jsonb NOT NULL DEFAULT '{}',
    state          text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz
);
-- Time pruning: a GiST index on the closed interval [min, max] answers "overlaps [lo, hi]"
-- (&&) directly; a btree on max or min alone scans every extent on one side of the window.
-- numrange, not int8range: a closed int8range ending at 2^63-1 overflows when canonicalised.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX extents_active_time ON extents USING gist (table_id, numrange(min_time_ns, max_time_ns, '[]'))
    WHERE state = 'active';
-- Path pruning: present_paths @> ARRAY[...].
CREATE INDEX extents_present_paths ON extents USING gin (present_paths);
CREATE INDEX extents_retired ON extents (retired_at) WHERE state = 'retired';

-- Per-column min/max of each extent, one row per column, so column pruning is an index probe
-- (the same numbers are also in extents.column_stats for readers of the whole record).
CREATE TABLE extent_column_stats (
    extent_id   uuid NOT NULL REFERENCES extents(id) ON DELETE CASCADE,
    table_id    bigint NOT NULL,
    column_name text NOT NULL,
    min_num     numeric,
    max_num     numeric,
    min_text    text COLLATE "C",
    max_text    text COLLATE "C",
    null_count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (extent_id, column_name)
);
CREATE INDEX extent_column_stats_num ON extent_column_stats (table_id, column_name, max_num, min_num)
    WHERE min_num IS NOT NULL;
CREATE INDEX extent_column_stats_text ON extent_column_stats (table_id, column_name, max_text, min_text)
    WHERE min_text IS NOT NULL;

-- Client batch ids already committed: a retried ingest is a no-op.
CREATE TABLE ingest_batches (
    table_id     bigint NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    batch_id     text NOT NULL,
    extent_count integer NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_id, batch_id)
);

CREATE TABLE nodes (
    id             text PRIMARY KEY,
    role           text NOT NULL,
    address        text NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    last_heartbeat timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_units (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5,
    lease_owner      text,
    lease_expires_at timestamptz,
    result           jsonb,
    last_error       text,
    dedup_key        text UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Claims scan only claimable units (partial index: about 2.5x the claim rate of a full scan).
CREATE INDEX work_units_claimable ON work_units (kind, id) WHERE state IN ('pending', 'running');
