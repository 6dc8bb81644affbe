-- Attempts in flight (THREATS: racing the limits). An attempt claims its slot here before it
-- is checked, serialised per username and per source, and counts as a failure until its
-- sign-in event (which takes the claim's id) is recorded in the same transaction that
-- deletes the claim; a claim older than two minutes no longer counts.
CREATE TABLE attempt_claims (
    id       TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    source   TEXT,
    at       BIGINT NOT NULL
);
CREATE INDEX attempt_claims_username_at ON attempt_claims (username, at);
CREATE INDEX attempt_claims_source_at ON attempt_claims (source, at);
CREATE INDEX attempt_claims_at ON attempt_claims (at);

-- What an attempt is throttled by besides the username: the address, or the calling client
-- of the verify API (so a gateway's address does not lock out everyone behind it).
ALTER TABLE sign_in_events ADD COLUMN source TEXT;
UPDATE sign_in_events SET source = ip;
CREATE INDEX sign_in_events_source_at ON sign_in_events (source, at);

-- Email and SMS codes sent, per person and per source, across all methods and enrolments
-- (THREATS: toll fraud); claimed like attempts, before the code is sent.
CREATE TABLE code_sends (
    id      TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    source  TEXT,
    kind    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX code_sends_user_at ON code_sends (user_id, at);
CREATE INDEX code_sends_source_at ON code_sends (source, at);
