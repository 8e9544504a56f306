-- Double opt-in confirmations, rate-limit events, list owners and bounce-score resets.

-- A pending subscribe or unsubscribe; only the SHA-256 of its token is kept.
CREATE TABLE confirmations (
    token_hash  TEXT PRIMARY KEY,
    list_name   TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('subscribe', 'unsubscribe')),
    name        TEXT NOT NULL DEFAULT '',
    lang        TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr')),
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
CREATE INDEX confirmations_by_expiry ON confirmations(expires_at);

-- One row per counted event ("subscribe-ip:1.2.3.4", "reply:jo@example.org", ...).
CREATE TABLE rate_events (
    bucket TEXT NOT NULL,
    at     REAL NOT NULL
);
CREATE INDEX rate_events_by_bucket ON rate_events(bucket, at);

CREATE TABLE list_owners (
    list_name   TEXT NOT NULL REFERENCES lists(name) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    address_key TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (list_name, address_key)
);

-- Bounces before `at` no longer count (set when an admin re-enables a member).
CREATE TABLE bounce_resets (
    list_name   TEXT NOT NULL,
    address_key TEXT NOT NULL,
    at          REAL NOT NULL,
    PRIMARY KEY (list_name, address_key)
);
CREATE INDEX bounces_by_list ON bounces(list_name, address_key, at);
