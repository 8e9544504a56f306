"""An SMTP session's idle timeout: `[server] idle_timeout` seconds without a byte from the
client, then `421 4.4.2` and the connection is closed.

aiosmtpd restarts its timer at each complete command only, so a large post arriving
slowly, line after line, would be cut off that many seconds after DATA. Here any byte
counts; the timer only looks at the time of the last one when it fires. A post being
judged (after its final dot, before our reply) is never cut off.
"""

from __future__ import annotations

from typing import Any

from aiosmtpd.smtp import SMTP

from ccrlist.intake import replies


class IdleTimeout(SMTP):
    """Mixed in before aiosmtpd's `SMTP` (or `LMTP`); its `timeout` is the idle timeout."""

    _heard_at = 0.0

    def data_received(self, data: bytes) -> None:
        self._heard_at = self.loop.time()
        super().data_received(data)

    def _timeout_cb(self) -> None:
        quiet = self.loop.time() - self._heard_at
        judging = getattr(self.envelope, "original_content", None) is not None
        if judging or quiet < self._timeout_duration:
            self._reset_timeout(max(0.1, self._timeout_duration - quiet) if not judging
                                else self._timeout_duration)
            return
        transport: Any = self.transport
        if transport is not None and not transport.is_closing():
            reply = replies.IDLE_TIMEOUT.format(host=self.hostname)
            transport.write(reply.encode() + b"\r\n")
            transport.close()  # as aiosmtpd's own callback: connection_lost cleans up
