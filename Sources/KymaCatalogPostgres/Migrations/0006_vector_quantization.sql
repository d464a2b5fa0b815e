-- Vector collections may search on int8 codes with exact re-ranking (issue 24).
ALTER TABLE vector_collections ADD COLUMN quantization text NOT NULL DEFAULT 'none' CHECK (quantization IN ('none', 'int8'));
