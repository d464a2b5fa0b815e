-- Vector collections (issue: vector search). A collection's records live in immutable objects on
-- the object store: write-ahead objects (recent upserts and deletes) and segments (compacted
-- live records); this schema registers them in order. Nothing here holds vectors.

CREATE TABLE vector_collections (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    dimension       integer NOT NULL CHECK (dimension > 0),
    metric          text NOT NULL,
    m               integer NOT NULL CHECK (m >= 2),
    ef_construction integer NOT NULL CHECK (ef_construction >= 1),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vector_objects (
    collection_id bigint NOT NULL REFERENCES vector_collections(id) ON DELETE CASCADE,
    sequence      bigserial,
    kind          text NOT NULL CHECK (kind IN ('wal', 'segment')),
    object_key    text NOT NULL UNIQUE,
    record_count  bigint NOT NULL CHECK (record_count >= 0),
    batch_id      text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, sequence)
);

CREATE UNIQUE INDEX vector_objects_batch ON vector_objects (collection_id, batch_id) WHERE batch_id IS NOT NULL;
