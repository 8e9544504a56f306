"""Checks before sending: rendered-email rules, the whole pre-send check, and link checks."""
