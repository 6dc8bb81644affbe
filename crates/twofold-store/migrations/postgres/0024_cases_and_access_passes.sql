-- Help desk: support cases and temporary access passes. A case is one row holding the whole
-- case as JSON (its timeline included) beside the columns lists and metrics filter on; every
-- change is a compare-and-swap on its version. A pass is kept only as a keyed hash; issuing
-- one revokes the person's others, and using a single-use pass is a compare-and-swap on used_at.
CREATE TABLE cases (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    target_id  TEXT NOT NULL REFERENCES users (id),
    operator   TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at  BIGINT NOT NULL,
    closed_at  BIGINT,
    resolution TEXT,
    version    BIGINT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX cases_state ON cases (state, opened_at);
CREATE INDEX cases_target ON cases (target_id, opened_at);

CREATE TABLE access_passes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    case_id    TEXT,
    pass_hash  TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    single_use BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX access_passes_user ON access_passes (user_id, created_at);
