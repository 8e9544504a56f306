"""E-Chronicle: turn Markdown issue files into the newsletter email, web archive and feeds."""
