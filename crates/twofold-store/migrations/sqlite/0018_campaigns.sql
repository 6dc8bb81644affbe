-- Rollout campaigns: the file as applied and whether it runs; one snapshot of its adoption
-- per day (the curve that progress and the projected completion are drawn from).
CREATE TABLE campaigns (
    name       TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('draft', 'running', 'paused')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE campaign_snapshots (
    campaign   TEXT NOT NULL REFERENCES campaigns (name),
    day        BIGINT NOT NULL,
    in_scope   BIGINT NOT NULL,
    registered BIGINT NOT NULL,
    PRIMARY KEY (campaign, day)
);
