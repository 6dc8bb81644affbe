-- Each in-scope identity's compliance state per campaign, as the scheduler last set it (with
-- when it entered it), and the reminders sent: each claimed once, whatever the number of nodes.
CREATE TABLE campaign_states (
    campaign TEXT NOT NULL REFERENCES campaigns (name),
    user_id  TEXT NOT NULL REFERENCES users (id),
    phase    TEXT NOT NULL,
    state    TEXT NOT NULL,
    since    BIGINT NOT NULL,
    PRIMARY KEY (campaign, user_id)
);
CREATE INDEX campaign_states_user ON campaign_states (user_id);
CREATE TABLE campaign_reminders (
    campaign TEXT NOT NULL REFERENCES campaigns (name),
    user_id  TEXT NOT NULL REFERENCES users (id),
    reminder TEXT NOT NULL,
    sent_at  BIGINT NOT NULL,
    PRIMARY KEY (campaign, user_id, reminder)
);
