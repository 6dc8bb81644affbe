-- Service accounts are clients that get tokens with their own credentials (client_credentials).
-- During a secret rotation the previous secret keeps working until previous_secret_expires_at.
ALTER TABLE oidc_clients ADD COLUMN service BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oidc_clients ADD COLUMN token_lifetime_secs BIGINT;
ALTER TABLE oidc_clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE oidc_clients ADD COLUMN previous_secret_expires_at BIGINT;
