-- How a client's ID tokens are signed (RS256 when NULL, ES256 or EdDSA).
ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT;
