-- The operator's view (issue 18): the owners' notice of each held post, with the token
-- that approves or rejects it by email, and lookups of deliveries by recipient.

-- One row per held post whose owners were told. A reply from an owner to
-- <list>-moderate+<token>@ approves or rejects it; only the token's SHA-256 is kept, and
-- used_at marks it spent (it is also dead once the post is no longer held).
CREATE TABLE moderation_requests (
    post_id     INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL,
    used_at     REAL,
    used_by     TEXT NOT NULL DEFAULT ''
);
-- Posts held before this version are not announced now (a flood of notices about old
-- posts helps nobody; `ccrlist held list` shows them). No token hashes to these values.
INSERT INTO moderation_requests (post_id, token_hash, created_at)
SELECT id, 'none:' || id, received_at FROM posts WHERE status = 'held';
CREATE INDEX posts_held ON posts(list_name) WHERE status = 'held';

-- Owners now hear about every failed delivery of a post (refusals too), once per post.
-- Failures from before this version were reported or counted as bounces already.
UPDATE deliveries SET owner_notified = 1 WHERE status = 'failed';

-- `ccrlist deliveries --to` and `ccrlist members show` find deliveries by recipient.
CREATE INDEX deliveries_by_recipient ON deliveries(recipient COLLATE NOCASE);
