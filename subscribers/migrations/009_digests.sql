-- Issue 15: delivery modes and digests.
--
-- A membership receives each post ('each'), a daily or weekly digest, or nothing while it
-- is paused ('nomail', as before). A pause may end by itself at `paused_until`; then the
-- mode chosen before it, `resume_mode`, applies again. `digest_format` is how a member's
-- digests are written: MIME ('mime') or plain text (RFC 1153, 'plain'). The 'digest'
-- mode of 001, never offered, becomes 'daily'.
DROP VIEW receivers;

-- A column's own CHECK goes with it, so the mode is renamed in the manner of 006: a new
-- column with the new CHECK, filled from the old one, which is then dropped.
ALTER TABLE memberships ADD COLUMN delivery_mode_009 TEXT NOT NULL DEFAULT 'each'
    CHECK (delivery_mode_009 IN ('each', 'daily', 'weekly', 'nomail'));
UPDATE memberships
   SET delivery_mode_009 = CASE delivery_mode WHEN 'digest' THEN 'daily' ELSE delivery_mode END;
ALTER TABLE memberships DROP COLUMN delivery_mode;
ALTER TABLE memberships RENAME COLUMN delivery_mode_009 TO delivery_mode;
ALTER TABLE memberships ADD COLUMN resume_mode TEXT NOT NULL DEFAULT 'each'
    CHECK (resume_mode IN ('each', 'daily', 'weekly'));
ALTER TABLE memberships ADD COLUMN paused_until REAL;
ALTER TABLE memberships ADD COLUMN digest_format TEXT NOT NULL DEFAULT 'mime'
    CHECK (digest_format IN ('mime', 'plain'));

-- How each membership receives mail now, written once: a pause whose end has passed is
-- over, and its resume_mode applies, without anything having to run. SQLite's own clock
-- decides, so every reader (post expansion, the newsletter, the digests, the pages, the
-- commands) agrees.
CREATE VIEW delivery_now AS
SELECT list_name, person_id,
       CASE WHEN delivery_mode = 'nomail'
                 AND paused_until <= (julianday('now') - 2440587.5) * 86400.0
            THEN resume_mode ELSE delivery_mode END AS delivery_mode,
       CASE WHEN delivery_mode = 'nomail'
                 AND paused_until > (julianday('now') - 2440587.5) * 86400.0
            THEN paused_until END AS paused_until
  FROM memberships;

-- Who receives a list's mail (the copies or digests of its posts, the newsletter's
-- issues): active members who are not paused now, with the mode they receive in.
CREATE VIEW receivers AS
SELECT m.list_name, p.address, p.name, p.lang, m.status, d.delivery_mode, m.token,
       m.joined_at, m.left_at, p.address_key, m.person_id, m.digest_format
  FROM memberships m
  JOIN people p ON p.id = m.person_id
  JOIN delivery_now d ON d.list_name = m.list_name AND d.person_id = m.person_id
 WHERE m.status = 'active' AND d.delivery_mode != 'nomail';

-- One digest issue of a list: everything sent in one run shares its volume and number.
CREATE TABLE digests (
    id         INTEGER PRIMARY KEY,
    list_name  TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    volume     INTEGER NOT NULL,
    number     INTEGER NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (list_name, volume, number)
);

-- A post held for a digest member's next digest. Written by post expansion like a
-- delivery row, keyed the same way, and deleted in the transaction that queues the
-- digest holding it: a post lands in exactly one digest for each member who took it in
-- digest form. (Only posts marked expanded are taken, so expansion, which never runs
-- again for those, cannot hold one a second time.)
CREATE TABLE digest_items (
    list_name TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    post_id   INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    size      INTEGER NOT NULL,  -- the post's bytes, for [digest] max_bytes
    queued_at REAL NOT NULL,
    PRIMARY KEY (list_name, person_id, post_id)
) WITHOUT ROWID;

-- The latest scheduled time ('daily' or 'weekly') already served for each list.
CREATE TABLE digest_schedule (
    list_name TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    period    TEXT NOT NULL CHECK (period IN ('daily', 'weekly')),
    served_at REAL NOT NULL,
    PRIMARY KEY (list_name, period)
);
