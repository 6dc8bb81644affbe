-- Emergency access and reviews. An emergency access is one row holding the whole access as
-- JSON beside the columns lists filter on; every change is a compare-and-swap on its version.
-- A review task follows an ended emergency access or a break-glass sign-in: one per
-- (kind, subject_id), so every node may try to open it, and it is completed once.
CREATE TABLE emergency_accesses (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    state        TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'ended')),
    requested_at BIGINT NOT NULL,
    ends_at      BIGINT,
    version      BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX emergency_accesses_user ON emergency_accesses (user_id, requested_at);

CREATE TABLE reviews (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    username     TEXT NOT NULL,
    summary      TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by TEXT,
    findings     TEXT,
    control_test BIGINT NOT NULL DEFAULT 0,
    UNIQUE (kind, subject_id)
);
CREATE INDEX reviews_open ON reviews (completed_at, opened_at);
