-- API keys of the HTTP server (issue 18): the id finds a key, the SHA-256 of its secret proves
-- it; the secret is never stored. tables NULL: every table.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    tables      jsonb,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
