-- Maker–checker approvals. Rules files are kept like policy versions (the highest in force).
-- A request is one row holding the whole request as JSON beside the columns lists filter on;
-- every change is a compare-and-swap on its version.
CREATE TABLE approval_rules_versions (
    version    INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    note       TEXT
);

CREATE TABLE approvals (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users (id),
    state        TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX approvals_state ON approvals (state, created_at);
CREATE INDEX approvals_expiry ON approvals (state, expires_at);
CREATE INDEX approvals_client ON approvals (client_id, created_at);

-- The outbox: what must be delivered, retried until acknowledged. A node claims a row until
-- claimed_until under a token of its own (claimed_by), and records the outcome only while it
-- still holds that claim; a claim that runs out unacknowledged is taken again.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    target          TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
CREATE INDEX outbox_subject ON outbox (subject_id, created_at);

-- The callback URLs an administrator registered for an app's approval results: a request
-- may name one of these, never any other.
CREATE TABLE approval_callbacks (
    client_id TEXT PRIMARY KEY REFERENCES oidc_clients (client_id),
    urls      TEXT NOT NULL
);

-- RFC 8707 resource indicators: the resource servers a service account's tokens may be for.
ALTER TABLE oidc_clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
