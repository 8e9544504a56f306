-- Lists, people and memberships; inbound posts; the per-recipient outbox.
CREATE TABLE lists (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    policy      TEXT NOT NULL CHECK (policy IN ('subscribers', 'announce')),
    created_at  TEXT NOT NULL
);

CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    address     TEXT NOT NULL,
    address_key TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    lang        TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE memberships (
    list_name     TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'active', 'unsubscribed', 'disabled')),
    delivery_mode TEXT NOT NULL DEFAULT 'each'
                  CHECK (delivery_mode IN ('each', 'digest', 'nomail')),
    token         TEXT NOT NULL UNIQUE,
    joined_at     TEXT,
    left_at       TEXT,
    PRIMARY KEY (list_name, person_id)
);
CREATE INDEX memberships_by_status ON memberships(list_name, status);

-- Every post accepted or held, raw bytes as received: the list archive.
CREATE TABLE posts (
    id            INTEGER PRIMARY KEY,
    list_name     TEXT NOT NULL REFERENCES lists(name),
    message_id    TEXT NOT NULL,
    permalink     TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL,
    subject       TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL DEFAULT '',
    raw           BLOB NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('accepted', 'held', 'rejected', 'discarded')),
    reason        TEXT NOT NULL DEFAULT '',
    expanded      INTEGER NOT NULL DEFAULT 0,
    received_at   TEXT NOT NULL,
    UNIQUE (list_name, message_id)
);
CREATE INDEX posts_to_expand ON posts(expanded, status);

-- One outgoing message (a post's list copy, a newsletter issue, a notice).
CREATE TABLE outgoing (
    id           INTEGER PRIMARY KEY,
    list_name    TEXT NOT NULL,
    source       TEXT NOT NULL,
    source_ref   TEXT NOT NULL,
    sender       TEXT NOT NULL,
    body         BLOB NOT NULL,
    personalised INTEGER NOT NULL DEFAULT 0,
    verp         INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    UNIQUE (source, source_ref)
);

-- The delivery state of one recipient of one outgoing message.
CREATE TABLE deliveries (
    outgoing_id INTEGER NOT NULL REFERENCES outgoing(id) ON DELETE CASCADE,
    recipient   TEXT NOT NULL,
    token       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'deferred', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at REAL NOT NULL DEFAULT 0,
    last_reply  TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (outgoing_id, recipient)
);
CREATE INDEX deliveries_due ON deliveries(status, next_try_at);

-- Hard and soft delivery failures recorded against an address.
CREATE TABLE bounces (
    id          INTEGER PRIMARY KEY,
    address_key TEXT NOT NULL,
    list_name   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('hard', 'soft')),
    reply       TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL
);
CREATE INDEX bounces_by_address ON bounces(address_key, at);

INSERT INTO lists (name, description, policy, created_at) VALUES
    ('ccrlist', 'CCR discussion list for member organizations', 'subscribers',
     strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    ('echronicle', 'E-Chronicle, the CCR newsletter', 'announce',
     strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
