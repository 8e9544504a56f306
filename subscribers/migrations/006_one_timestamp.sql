-- One timestamp convention: seconds since the Unix epoch (UTC) as REAL, as the delivery,
-- bounce and confirmation tables always had. Columns that held ISO 8601 text
-- ('2026-11-24T10:00:00Z') are converted in place: add a REAL column, fill it, drop the
-- text one, and give the new one its name.
ALTER TABLE lists ADD COLUMN created_at_s REAL NOT NULL DEFAULT 0;
UPDATE lists SET created_at_s = CAST(strftime('%s', created_at) AS REAL);
ALTER TABLE lists DROP COLUMN created_at;
ALTER TABLE lists RENAME COLUMN created_at_s TO created_at;

ALTER TABLE people ADD COLUMN created_at_s REAL NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN updated_at_s REAL NOT NULL DEFAULT 0;
UPDATE people SET created_at_s = CAST(strftime('%s', created_at) AS REAL),
                  updated_at_s = CAST(strftime('%s', updated_at) AS REAL);
ALTER TABLE people DROP COLUMN created_at;
ALTER TABLE people DROP COLUMN updated_at;
ALTER TABLE people RENAME COLUMN created_at_s TO created_at;
ALTER TABLE people RENAME COLUMN updated_at_s TO updated_at;

ALTER TABLE memberships ADD COLUMN joined_at_s REAL;
ALTER TABLE memberships ADD COLUMN left_at_s REAL;
UPDATE memberships SET joined_at_s = CAST(strftime('%s', joined_at) AS REAL),
                       left_at_s = CAST(strftime('%s', left_at) AS REAL);
ALTER TABLE memberships DROP COLUMN joined_at;
ALTER TABLE memberships DROP COLUMN left_at;
ALTER TABLE memberships RENAME COLUMN joined_at_s TO joined_at;
ALTER TABLE memberships RENAME COLUMN left_at_s TO left_at;

ALTER TABLE posts ADD COLUMN received_at_s REAL NOT NULL DEFAULT 0;
UPDATE posts SET received_at_s = CAST(strftime('%s', received_at) AS REAL);
ALTER TABLE posts DROP COLUMN received_at;
ALTER TABLE posts RENAME COLUMN received_at_s TO received_at;

ALTER TABLE outgoing ADD COLUMN created_at_s REAL NOT NULL DEFAULT 0;
UPDATE outgoing SET created_at_s = CAST(strftime('%s', created_at) AS REAL);
ALTER TABLE outgoing DROP COLUMN created_at;
ALTER TABLE outgoing RENAME COLUMN created_at_s TO created_at;

ALTER TABLE list_owners ADD COLUMN added_at_s REAL NOT NULL DEFAULT 0;
UPDATE list_owners SET added_at_s = CAST(strftime('%s', added_at) AS REAL);
ALTER TABLE list_owners DROP COLUMN added_at;
ALTER TABLE list_owners RENAME COLUMN added_at_s TO added_at;
