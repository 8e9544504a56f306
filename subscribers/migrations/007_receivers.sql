-- Who receives a list's mail (the copies of its posts, the newsletter's issues), written
-- once: active members whose delivery mode sends them each message.
CREATE VIEW receivers AS
SELECT m.list_name, p.address, p.name, p.lang, m.status, m.delivery_mode, m.token,
       m.joined_at, m.left_at, p.address_key
  FROM memberships m JOIN people p ON p.id = m.person_id
 WHERE m.status = 'active' AND m.delivery_mode != 'nomail';
