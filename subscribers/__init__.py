"""The subscriber store: lists, people, memberships, posts, and the delivery queue with each recipient's state, in SQLite (the only
user of aiosqlite)."""
