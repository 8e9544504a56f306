"""The subscriber store in SQLite (the only user of aiosqlite): lists, people, memberships,
posts, and the delivery queue with each recipient's state."""
