-- Public keys (a JSON array of JWKs) for private_key_jwt client authentication (RFC 7523).
ALTER TABLE oidc_clients ADD COLUMN jwks TEXT;

-- Client assertions seen, by client and jti, kept until they expire: each is accepted once.
CREATE TABLE client_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);
