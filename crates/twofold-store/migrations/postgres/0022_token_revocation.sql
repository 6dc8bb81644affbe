-- Each client authenticates one registered way (token_endpoint_auth_method; NULL for older
-- registrations: derived from their credentials); a client may be allowed to introspect
-- other clients' tokens (a resource server).
ALTER TABLE oidc_clients ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE oidc_clients ADD COLUMN may_introspect BIGINT NOT NULL DEFAULT 0;

-- Token families revoked (a reused code or refresh token, RFC 7009 revocation): access tokens
-- carry their family as `fid` and are dead once it is here; no refresh token is added to it.
-- Kept for two token lifetimes, after which nothing it could deny is alive.
CREATE TABLE revoked_token_families (
    family_id  TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
