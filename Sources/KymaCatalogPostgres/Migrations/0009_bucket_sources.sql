-- External sources of a bucket (issue 19): another S3 bucket whose objects rules turn into
-- tables and collections. Credentials live here and are never returned by the API. What a
-- discovery scan saw is recorded per key, so the next scan makes jobs only for what is new or
-- changed.
CREATE TABLE bucket_sources (
    id             bigserial PRIMARY KEY,
    bucket_id      bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    name           text NOT NULL,
    endpoint       text NOT NULL,
    region         text NOT NULL,
    remote_bucket  text NOT NULL,
    prefix         text NOT NULL DEFAULT '',
    access_key_id  text,
    secret_key     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket_id, name)
);

CREATE TABLE source_objects (
    source_id      bigint NOT NULL REFERENCES bucket_sources(id) ON DELETE CASCADE,
    key            text NOT NULL,
    etag           text NOT NULL,
    size           bigint NOT NULL,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, key)
);

-- A rule reads the bucket itself (NULL) or one of its sources.
ALTER TABLE bucket_rules ADD COLUMN source_id bigint REFERENCES bucket_sources(id) ON DELETE CASCADE;
