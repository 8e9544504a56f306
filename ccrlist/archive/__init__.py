"""The list archive: reading posts for the archive, threads, search, pages, feeds, mbox."""
