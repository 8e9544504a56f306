"""ccrlist: the CCR discussion list server (SMTP intake, moderation, fan-out)."""
