-- Twofold schema v1 (PostgreSQL). Times are Unix milliseconds; ids are UUID text.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT,
    display_name  TEXT NOT NULL,
    phone         TEXT,
    department    TEXT,
    manager       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deprovisioned')),
    tier          TEXT NOT NULL,
    roles         TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_department ON users (department);

CREATE TABLE identity_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES identity_groups (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE sessions (
    id_hash             TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id),
    amr                 TEXT NOT NULL,
    acr                 TEXT NOT NULL,
    auth_time           BIGINT,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    idle_timeout_secs   BIGINT NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    revoked_at          BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_in_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    username   TEXT NOT NULL,
    user_id    TEXT,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    methods    TEXT NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sign_in_events_at ON sign_in_events (at);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE audit_events (
    seq          BIGINT PRIMARY KEY,
    id           TEXT NOT NULL,
    at           BIGINT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    actor_auth   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT,
    before_state TEXT,
    after_state  TEXT,
    ip           TEXT,
    user_agent   TEXT,
    device_id    TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

-- The chain head: one row, locked by every audited transaction before anything else.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
