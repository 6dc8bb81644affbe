-- When a client last got a token (written at most about once a minute) and when its current
-- secret was made: what the service-account report shows.
ALTER TABLE oidc_clients ADD COLUMN last_used_at BIGINT;
ALTER TABLE oidc_clients ADD COLUMN secret_set_at BIGINT;
UPDATE oidc_clients SET secret_set_at = created_at WHERE secret_hash IS NOT NULL;
