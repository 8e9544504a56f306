"""Rendering an issue: the email (HTML, text, message), the archive pages and the feeds (pure)."""
