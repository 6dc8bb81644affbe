-- Third-party clients show a consent screen; what each person allowed each of them.
ALTER TABLE oidc_clients ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE oidc_consents (
    user_id    TEXT NOT NULL REFERENCES users (id),
    client_id  TEXT NOT NULL REFERENCES oidc_clients (client_id),
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
