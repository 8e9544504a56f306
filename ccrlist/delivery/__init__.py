"""Delivery: send queued messages to each recipient through the relay (or the outbox Maildir),
resumably, DKIM-signed, with VERP senders and per-recipient tokens."""
