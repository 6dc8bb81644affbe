-- What conditional access saw and decided for each sign-in: the app, the device and how well
-- it was known, the country and risk, and the policy's decision (JSON, report-only rules
-- included), so report-only rules can be reported and drafts replayed (policy simulate).
ALTER TABLE sign_in_events ADD COLUMN app TEXT;
ALTER TABLE sign_in_events ADD COLUMN device TEXT;
ALTER TABLE sign_in_events ADD COLUMN device_id TEXT;
ALTER TABLE sign_in_events ADD COLUMN country TEXT;
ALTER TABLE sign_in_events ADD COLUMN risk TEXT;
ALTER TABLE sign_in_events ADD COLUMN policy TEXT;
CREATE INDEX sign_in_events_user_device ON sign_in_events (user_id, device_id);
CREATE INDEX sign_in_events_user_country ON sign_in_events (user_id, country);
CREATE INDEX sign_in_events_user_at ON sign_in_events (user_id, at);
