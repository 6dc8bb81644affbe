-- Second factors. Secrets are AES-256-GCM sealed under the master key; recovery codes are keyed hashes.
-- Passkeys keep their public credential (JSON) in credential; sealed_secret is empty for them.
-- Hardware OATH tokens have a serial and may be unassigned (no user). last_used_step holds the last
-- accepted TOTP step or HOTP counter: a code is accepted only for a greater one.
CREATE TABLE authenticators (
    id             TEXT PRIMARY KEY,
    user_id        TEXT REFERENCES users (id),
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    serial         TEXT UNIQUE,
    otp_params     TEXT,
    credential     TEXT,
    sealed_secret  BYTEA NOT NULL,
    last_used_step BIGINT,
    drift_steps    BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,
    last_used_at   BIGINT
);
CREATE INDEX authenticators_user ON authenticators (user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- WebAuthn ceremony state between the options and the answer; single use, short-lived.
CREATE TABLE webauthn_ceremonies (
    id           TEXT PRIMARY KEY,
    session_hash TEXT,
    purpose      TEXT NOT NULL,
    state        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Devices a user chose to trust after a second factor: sign-in from them skips the second step
-- until trusted_until. mfa_at is when that second factor was proved.
CREATE TABLE trusted_devices (
    device_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    trusted_until BIGINT NOT NULL,
    mfa_at        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    revoked_at    BIGINT,
    PRIMARY KEY (device_id, user_id)
);

-- A session that has passed the password but not yet the second factor.
ALTER TABLE sessions ADD COLUMN mfa_pending BIGINT NOT NULL DEFAULT 0;
