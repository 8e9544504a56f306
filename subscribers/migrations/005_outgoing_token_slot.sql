-- Where each outgoing message holds the slot that a recipient's token replaces at send
-- time. List copies get a random slot of their own, so a post cannot carry it; rows
-- from before keep the fixed slot they were rendered with.
ALTER TABLE outgoing ADD COLUMN token_slot TEXT NOT NULL DEFAULT 'CCR-TOKEN-SLOT-0f3a9c';
