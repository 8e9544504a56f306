"""The list copy: how copies go out, the rewritten header block, and expansion to every member."""
