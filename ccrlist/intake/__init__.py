"""Intake: the SMTP/LMTP session, a post's bytes read once into a Post, moderation and the reply."""
