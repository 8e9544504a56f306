"""Reading issue files: the typed model of an issue, and the parser that fills it."""
