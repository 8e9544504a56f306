-- Failed deliveries the list owner has been told about (one notice covers many).
ALTER TABLE deliveries ADD COLUMN owner_notified INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_to_report ON deliveries(status, owner_notified);
