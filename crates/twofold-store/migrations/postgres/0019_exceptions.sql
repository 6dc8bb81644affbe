-- Exceptions: time-boxed, approved waivers from a campaign's requirement. A row moves from
-- requested to approved or rejected, and from approved to revoked or expired, once each
-- (compare-and-swap).
CREATE TABLE exceptions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('requested', 'approved', 'rejected', 'revoked', 'expired')),
    decided_by   TEXT,
    decided_at   BIGINT,
    -- Quarterly attestation: when the manager was last asked to confirm it, and confirmed.
    attestation_asked_at BIGINT,
    attested_at          BIGINT,
    attested_by          TEXT
);
CREATE INDEX exceptions_user ON exceptions (user_id);
