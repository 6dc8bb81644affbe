-- Throttling counts recent failures per username and per source address.
CREATE INDEX sign_in_events_username_at ON sign_in_events (username, at);
CREATE INDEX sign_in_events_ip_at ON sign_in_events (ip, at);
