"""Bounces: read delivery reports, score a member's failures, disable past the threshold."""
