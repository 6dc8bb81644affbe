-- Events are written here in the same transaction as their change, without waiting for the chain;
-- the chainer links them into audit_events in batches, in this table's order.
CREATE TABLE audit_pending (
    pending_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL,
    at           BIGINT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    actor_auth   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT,
    before_state TEXT,
    after_state  TEXT,
    ip           TEXT,
    user_agent   TEXT,
    device_id    TEXT
);
