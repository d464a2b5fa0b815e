-- The augmented-S3 surface (issue 19): buckets, the index of their objects (the bytes live in the
-- object store under buckets/<id>/), multipart uploads and their parts, and the events rules
-- react to, written in the same transaction as the index change they describe.
CREATE TABLE buckets (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    settings   jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE bucket_objects (
    bucket_id     bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    key           text NOT NULL COLLATE "C",
    size          bigint NOT NULL,
    etag          text NOT NULL,
    content_type  text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    storage_key   text NOT NULL,
    checksum      text,
    last_modified timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket_id, key)
);
-- The garbage collector asks whether store objects are referenced (knownObjectKeys).
CREATE INDEX bucket_objects_storage_key ON bucket_objects (storage_key);

CREATE TABLE multipart_uploads (
    upload_id    text PRIMARY KEY,
    bucket_id    bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    key          text NOT NULL COLLATE "C",
    content_type text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    initiated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX multipart_uploads_bucket ON multipart_uploads (bucket_id, key);

CREATE TABLE multipart_parts (
    upload_id     text NOT NULL REFERENCES multipart_uploads(upload_id) ON DELETE CASCADE,
    part_number   integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    size          bigint NOT NULL,
    etag          text NOT NULL,
    storage_key   text NOT NULL,
    checksum      text,
    last_modified timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part_number)
);
CREATE INDEX multipart_parts_storage_key ON multipart_parts (storage_key);

CREATE TABLE bucket_events (
    id         bigserial PRIMARY KEY,
    bucket_id  bigint NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    key        text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('put', 'delete')),
    etag       text,
    size       bigint,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bucket_events_bucket ON bucket_events (bucket_id, id);

-- S3 access keys: the same principals as API keys (role and table scope, which covers bucket
-- names too). SigV4 needs the secret itself, so it is kept, as S3 servers keep theirs; it is
-- never returned by the API, only once by `kyma keys create --s3`.
ALTER TABLE api_keys ADD COLUMN s3_access_key text UNIQUE;
ALTER TABLE api_keys ADD COLUMN s3_secret text;
