-- The weakest strength a client accepts for every sign-in (pwd, mfa, phr or phrh); none means pwd.
ALTER TABLE oidc_clients ADD COLUMN min_acr TEXT;
