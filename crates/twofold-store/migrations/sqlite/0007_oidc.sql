-- OpenID Connect: registered clients (client_secret only as a keyed hash), token-signing keys
-- (private keys sealed under the master key, so every node signs and publishes the same JWKS),
-- and authorization codes (only their hash; single use; the grant they carry as JSON).
CREATE TABLE oidc_clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    public        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    sealed_private BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
);

CREATE TABLE authorization_codes (
    code_hash  TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES oidc_clients (client_id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    grant_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
