-- The extents each committed part of a client batch made, so the output of one input (a bucket
-- object version) can be found again and replaced when a newer version is ingested.
ALTER TABLE ingest_batch_parts ADD COLUMN extent_ids uuid[] NOT NULL DEFAULT '{}';
