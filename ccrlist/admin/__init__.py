"""Mail to a list's admin addresses: email commands, confirmations and forwarding to the owners."""
