-- An exception keeps who approved it apart from who ended it and why: approving sets
-- approved_by/approved_at; rejecting, revoking or expiring sets ended_by/ended_at/end_reason
-- and leaves the approver as it was. decided_by/decided_at (0019) held whoever moved the row
-- last and are no longer written; their values are carried over here.
ALTER TABLE exceptions ADD COLUMN approved_by TEXT;
ALTER TABLE exceptions ADD COLUMN approved_at BIGINT;
ALTER TABLE exceptions ADD COLUMN ended_by TEXT;
ALTER TABLE exceptions ADD COLUMN ended_at BIGINT;
ALTER TABLE exceptions ADD COLUMN end_reason TEXT;
UPDATE exceptions SET approved_by = decided_by, approved_at = decided_at WHERE decision = 'approved';
-- Ended before this migration: the approver was overwritten by whoever ended it.
UPDATE exceptions SET ended_by = decided_by, ended_at = decided_at, end_reason = decision
    WHERE decision IN ('rejected', 'revoked', 'expired');
