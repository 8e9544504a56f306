"""The archive's listing: what the indexes and feeds show of every issue, made from the issue
files or, for a file that has not changed, from a cache keyed by its content."""
