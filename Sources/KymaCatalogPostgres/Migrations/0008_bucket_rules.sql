-- Rules of the augmented-S3 surface (issue 19): which of a bucket's objects a pipeline turns
-- into a table, and the backoff of retried work units (ingest jobs are work units).
CREATE TABLE bucket_rules (
    id            bigserial PRIMARY KEY,
    bucket_id     bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    name          text NOT NULL,
    pipeline      text NOT NULL,
    destination   text NOT NULL,
    options       jsonb NOT NULL DEFAULT '{}',
    include       text[] NOT NULL DEFAULT '{}',
    exclude       text[] NOT NULL DEFAULT '{}',
    content_types text[] NOT NULL DEFAULT '{}',
    min_size      bigint,
    max_size      bigint,
    priority      integer NOT NULL DEFAULT 0,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket_id, name)
);

-- A failed unit waits before it is claimed again (exponential backoff set by failWork).
ALTER TABLE work_units ADD COLUMN not_before timestamptz;
