"""The durable outbox: send queued messages to each recipient, resumably."""
