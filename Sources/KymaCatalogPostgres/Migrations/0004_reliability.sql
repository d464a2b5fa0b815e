-- Reliability (issue 23): per-object grace periods, uploads in flight for the garbage collector,
-- content-keyed ingest batches, and column statistics that may be unknown.

-- Each retired extent carries its own deadline: the grace its retirement asked for.
ALTER TABLE extents ADD COLUMN delete_after timestamptz;
UPDATE extents SET delete_after = retired_at + interval '300 seconds' WHERE state = 'retired';
DROP INDEX extents_retired;
CREATE INDEX extents_retired_due ON extents (delete_after) WHERE state = 'retired';

-- Objects registered before their upload and removed by the commit that references them: the
-- garbage collector tells an upload in flight from an orphan by this table, and a commit whose
-- registration the collector already took fails instead of pointing at a deleted object.
CREATE TABLE pending_uploads (
    object_key    text PRIMARY KEY,
    table_id      bigint NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_uploads_age ON pending_uploads (registered_at);

-- A client batch is a set of inputs named by their SHA-256 (sorted, comma-separated); its parts
-- are the line ranges of each input committed so far. A retry with any batching or file names
-- commits only the lines not yet committed; other inputs under the same id are refused.
-- Batches recorded before this migration have no inputs: any retry of them is a no-op.
ALTER TABLE ingest_batches ADD COLUMN inputs text;
CREATE TABLE ingest_batch_parts (
    table_id     bigint NOT NULL,
    batch_id     text NOT NULL,
    input_digest text NOT NULL,
    first_line   bigint NOT NULL CHECK (first_line >= 1),
    last_line    bigint NOT NULL CHECK (last_line >= first_line),
    FOREIGN KEY (table_id, batch_id) REFERENCES ingest_batches (table_id, batch_id) ON DELETE CASCADE,
    PRIMARY KEY (table_id, batch_id, input_digest, first_line)
);

-- Statistics that could not be bounded (a string starting with NUL, say): the extent may hold
-- any value of the column, so column pruning must keep it.
ALTER TABLE extent_column_stats ADD COLUMN bounds_unknown boolean NOT NULL DEFAULT false;
CREATE INDEX extent_column_stats_unknown ON extent_column_stats (table_id, column_name) WHERE bounds_unknown;
