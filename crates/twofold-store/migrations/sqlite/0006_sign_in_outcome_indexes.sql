-- Throttling counts recent failures per username and per source address. With the outcome in
-- the index those counts scan failures only: a gateway verifying thousands of codes from one
-- address no longer makes each count scan all of that address's successes.
DROP INDEX sign_in_events_username_at;
DROP INDEX sign_in_events_ip_at;
CREATE INDEX sign_in_events_username_outcome_at ON sign_in_events (username, outcome, at);
CREATE INDEX sign_in_events_ip_outcome_at ON sign_in_events (ip, outcome, at);
