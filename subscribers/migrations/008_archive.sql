-- The list archive (issue 14): what members read on the web, apart from the posts table.
--
-- Intake stores a post exactly as before, with nothing more to write or index: the
-- indexer reads posts after their 250, in id order, from where `archive_progress` says
-- it stopped (0 here, so the first `ccrlist serve` archives the posts stored before this
-- migration). Only accepted posts are archived; a post held and approved later is below
-- that mark, so the trigger queues it when its status becomes 'accepted'.
CREATE TABLE archive_progress (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_post_id INTEGER NOT NULL
);
INSERT INTO archive_progress (id, last_post_id) VALUES (1, 0);

CREATE TABLE archive_queue (post_id INTEGER PRIMARY KEY);
CREATE TRIGGER posts_approved_to_archive AFTER UPDATE OF status ON posts
WHEN NEW.status = 'accepted' AND OLD.status != 'accepted'
BEGIN
    INSERT OR IGNORE INTO archive_queue (post_id) VALUES (NEW.id);
END;

-- What was decided about a post by hand or by its author: 0 nothing (it is in the archive
-- when an `archive` row holds it), 2 left out (X-No-Archive: yes or X-Archive: no),
-- 3 removed by `ccrlist archive remove`.
ALTER TABLE posts ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;

-- One row per archived post: what the pages show, and how it hangs in its thread.
CREATE TABLE archive (
    post_id     INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    list_name   TEXT NOT NULL,
    message_id  TEXT NOT NULL,          -- '<id@host>', for threading
    in_reply_to TEXT NOT NULL DEFAULT '', -- the nearest Message-ID it answers
    parent_id   INTEGER,                -- the archived post it answers, when known
    thread_id   INTEGER NOT NULL,       -- archive_threads.id
    date        REAL NOT NULL,          -- when it was received (imports: its Date)
    month       TEXT NOT NULL,          -- 'YYYY-MM' of date, UTC
    subject     TEXT NOT NULL DEFAULT '',
    base_subject TEXT NOT NULL DEFAULT '', -- without Re:, Fwd: and the list tag
    author_name TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL DEFAULT '',
    body_kind   TEXT NOT NULL CHECK (body_kind IN ('text', 'html')),
    body        TEXT NOT NULL DEFAULT '', -- plain text, or HTML already sanitised
    attachments TEXT NOT NULL DEFAULT '[]', -- JSON: [[part, filename, type, bytes], ...]
    search_key  INTEGER NOT NULL          -- its rowid in archive_search (see there)
);
CREATE UNIQUE INDEX archive_by_search_key ON archive(search_key);
CREATE INDEX archive_by_month ON archive(list_name, month, thread_id, date);
CREATE INDEX archive_by_thread ON archive(thread_id, date);
CREATE INDEX archive_by_message_id ON archive(list_name, message_id);
CREATE INDEX archive_by_reply ON archive(list_name, in_reply_to);

-- A thread: its first post's subject and its activity, kept with every change.
CREATE TABLE archive_threads (
    id           INTEGER PRIMARY KEY,
    list_name    TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    base_subject TEXT NOT NULL DEFAULT '', -- without Re:, Fwd: and the list tag
    author_name  TEXT NOT NULL DEFAULT '',
    author       TEXT NOT NULL DEFAULT '',
    started      REAL NOT NULL,
    last         REAL NOT NULL,
    posts        INTEGER NOT NULL
);
CREATE INDEX threads_by_activity ON archive_threads(list_name, last);
CREATE INDEX threads_by_start ON archive_threads(list_name, started);
CREATE INDEX threads_by_subject ON archive_threads(list_name, base_subject, last);

-- Posts per month, for the list's index page.
CREATE TABLE archive_months (
    list_name TEXT NOT NULL,
    month     TEXT NOT NULL,
    posts     INTEGER NOT NULL,
    PRIMARY KEY (list_name, month)
);

-- Full-text search. Accents and case are folded ('refugie' finds 'réfugié'); quoted lines
-- are left out of `body`, so a reply does not match its quote. The rowid is the post's
-- archive.search_key, its date in seconds * 1,000,000 + its id modulo 1,000,000 (made
-- unique): rowid order is date order, so "newest first" streams from the index and stops
-- at a page's end, and a date range is a rowid range, instead of sorting every match.
CREATE VIRTUAL TABLE archive_search USING fts5(
    subject, author, body, tokenize = 'unicode61 remove_diacritics 2'
);

-- One-time sign-in links (only the SHA-256 of the token is kept) and sessions.
CREATE TABLE archive_signins (
    token_hash TEXT PRIMARY KEY,
    list_name  TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    next_path  TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at    REAL
);
CREATE INDEX archive_signins_by_expiry ON archive_signins(expires_at);

CREATE TABLE archive_sessions (
    token_hash  TEXT PRIMARY KEY,
    address     TEXT NOT NULL,
    address_key TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX archive_sessions_by_expiry ON archive_sessions(expires_at);

-- A member's personal feed URL of one list (a capability, like memberships.token).
CREATE TABLE archive_feeds (
    token       TEXT PRIMARY KEY,
    list_name   TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    address_key TEXT NOT NULL,
    created_at  REAL NOT NULL,
    UNIQUE (list_name, address_key)
);
