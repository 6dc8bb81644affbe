-- Twofold schema v1 (SQLite). Times are Unix milliseconds; ids are UUID text.
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
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX users_department ON users (department);

CREATE TABLE identity_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES identity_groups (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE sessions (
    id_hash             TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id),
    amr                 TEXT NOT NULL,
    acr                 TEXT NOT NULL,
    auth_time           INTEGER,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    idle_timeout_secs   INTEGER NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    revoked_at          INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_in_events (
    id         TEXT PRIMARY KEY,
    at         INTEGER NOT NULL,
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
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    at           INTEGER NOT NULL,
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
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
