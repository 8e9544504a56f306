"""The subscriber store: lists, people, memberships, and the per-recipient outbox, in SQLite."""
