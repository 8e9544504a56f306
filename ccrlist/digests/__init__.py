"""Digests: members who take a daily or weekly digest instead of each post.

Post expansion holds each post for every digest member (`subscribers.digests`); the
runner that `ccrlist serve` starts sends what is due, at `[digest] hour` local time or
when a digest grows past `[digest] max_bytes`. Which times are due (`schedule`), who is
due and how they are grouped (`plan`), and the messages themselves (`compose`, `mime`,
`plain`) are pure; `runner` reads the store, decides through them and queues the result.
"""
