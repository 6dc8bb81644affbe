-- Email and SMS one-time codes (transitional fallbacks), and attested security keys. An email_otp or sms_otp authenticator keeps
-- where its codes go in destination. Each sent code is kept only as a keyed hash, with its expiry,
-- the wrong guesses made against it and when it was used.
ALTER TABLE authenticators ADD COLUMN destination TEXT;
-- A security key whose attestation chained to a configured CA at registration (strength phrh).
ALTER TABLE authenticators ADD COLUMN attested BIGINT NOT NULL DEFAULT 0;

CREATE TABLE one_time_codes (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id),
    authenticator_id TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    code_hash        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    used_at          BIGINT
);
CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose);
CREATE INDEX one_time_codes_sends ON one_time_codes (authenticator_id, created_at);
