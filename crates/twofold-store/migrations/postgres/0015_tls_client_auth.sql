-- Mutual-TLS clients: the x5t#S256 thumbprint of the certificate that authenticates them.
ALTER TABLE oidc_clients ADD COLUMN tls_cert_thumbprint TEXT;
