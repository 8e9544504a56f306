"""A stub DNS server on 127.0.0.1 answering from zone data the test writes (the far side of DNS).

Real UDP on loopback, real DNS messages (dnspython's message API). A name in
`silent` gets no answer at all, so the client times out; a name in `servfail`
gets SERVFAIL. Unknown names get NXDOMAIN, known names without the asked type
an empty answer (NODATA).

    python tests/dnsstub.py ZONE.json PORTFILE

serves the zone from a JSON file ({"name": {"TXT": ["..."], "A": ["..."]}})
until SIGTERM, writing its port to PORTFILE once it listens (the benchmark).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = dict[str, dict[str, list[str]]]  # name -> record type -> values (TXT values unquoted)


def quoted_txt(value: str) -> str:
    """A TXT value in zone-file form, split into strings of at most 255 bytes."""
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


@dataclass
class StubDns:
    zone: Zone = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    servfail: set[str] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)
    ttl: int = 300

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.zone.setdefault(name.lower().rstrip("."), {}).setdefault(rdtype, []).extend(values)

    def start(self) -> StubDns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.answer(wire)
            if reply is not None:
                self._sock.sendto(reply, client)

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.zone:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.zone[name].get(rdtype):
            values = self.zone[name][rdtype]
            texts = [quoted_txt(v) for v in values] if rdtype == "TXT" else values
            response.answer.append(dns.rrset.from_text_list(
                question.name, self.ttl, "IN", rdtype, texts))
        return response.to_wire()


def serve_file(zone_file: Path, port_file: Path) -> None:
    zone: Zone = json.loads(zone_file.read_text(encoding="utf-8"))
    stub = StubDns(zone={k.lower(): v for k, v in zone.items()}).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    port_file.write_text(str(stub.port), encoding="utf-8")
    stopped.wait()
    stub.stop()


def zone_json(records: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    return json.dumps({k: {t: list(v) for t, v in r.items()} for k, r in records.items()})


if __name__ == "__main__":
    serve_file(Path(sys.argv[1]), Path(sys.argv[2]))
