"""Sender authentication of posts: DKIM, SPF and DMARC, and the Authentication-Results header."""
