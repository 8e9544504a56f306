"""Auth benchmark: posts/s accepted by `ccrlist serve` with DKIM/SPF/DMARC checks off versus on.

    python benchmarks/bench_auth.py [--clients 20] [--messages 3000] [--rounds 3]

The load is bench_ingest's (its functions, imported): `--clients` concurrent
SMTP sessions from 127.0.0.1, about 5 KB per post, every post committed
before its 250, the member on `nomail`. Every post is DKIM-signed (RSA 2048,
over From, To and Subject) by a domain publishing p=reject, with an SPF record
naming 127.0.0.1. With auth on, each post gets a DKIM verification, an SPF
check (pyspf in a worker thread) and a DMARC lookup; a stub DNS server in its
own subprocess answers on loopback, and the resolver caches answers for their
TTL as any resolver would. Prints the median rate of each and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import DOMAIN, FILLER, ccrlist_config, measure_serve
from sinks import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from authkit import make_key, sign  # noqa: E402  (test tooling: key pair, dkimpy signing)

AUTHOR = "member@signed.example"
SIGNED_HEADERS = (b"from", b"to", b"subject")


def signed_template() -> tuple[bytes, dict[str, dict[str, list[str]]]]:
    """One signed post (Message-ID is not signed, so it can vary) and the zone that checks it."""
    key = make_key()
    post = (f"From: Member <{AUTHOR}>\r\nTo: ccrlist@{DOMAIN}\r\nSubject: bench\r\n"
            f"\r\n{FILLER}").encode()
    zone = {
        "sel._domainkey.signed.example": {"TXT": [key.record]},
        "_dmarc.signed.example": {"TXT": ["v=DMARC1; p=reject"]},
        "signed.example": {"TXT": ["v=spf1 ip4:127.0.0.0/8 -all"]},
    }
    return sign(post, "signed.example", key, headers=SIGNED_HEADERS), zone


def start_dns(folder: Path, zone: dict[str, dict[str, list[str]]]) -> tuple[
        subprocess.Popen[bytes], int]:
    zone_file, port_file = folder / "zone.json", folder / "dns.port"
    zone_file.write_text(json.dumps(zone), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "dnsstub.py"),
                             str(zone_file), str(port_file)])
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the stub DNS server did not start")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def run_round(folder: Path, auth: str, clients: int, messages: int, tag: str,
              template: bytes) -> tuple[float, tuple[int, int]]:
    """One load against a fresh `ccrlist serve`; the rate and (stored, dmarc=pass) counts."""
    folder.mkdir()
    port = free_port()
    config = ccrlist_config(folder, port, auth, author=AUTHOR)
    head, rest = template.split(b"\r\n\r\n", 1)

    def make(message_id: str, i: int) -> bytes:
        return head + f"\r\nMessage-ID: {message_id}\r\n\r\n".encode() + rest

    rate, _ = measure_serve(folder, config, port, clients, messages, tag, make, AUTHOR)
    with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
        counts = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE CAST(raw AS TEXT) LIKE "
            "'%dkim=pass header.d=signed.example%dmarc=pass%') FROM posts").fetchone()
    return rate, (int(counts[0]), int(counts[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    expected = args.messages // args.clients * args.clients
    template, zone = signed_template()
    off: list[float] = []
    on: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        dns, dns_port = start_dns(Path(tmp), zone)
        try:
            for round_no in range(args.rounds):
                rate, (stored, _) = run_round(Path(tmp) / f"off{round_no}", 'policy = "off"\n',
                                              args.clients, args.messages, f"f{round_no}",
                                              template)
                if stored != expected:
                    raise SystemExit(f"auth off: stored {stored} posts, expected {expected}")
                off.append(rate)
                auth = (f'policy = "enforce"\nnameservers = ["127.0.0.1:{dns_port}"]\n'
                        "timeout = 5.0\n")
                rate, (stored, passed) = run_round(Path(tmp) / f"on{round_no}", auth,
                                                   args.clients, args.messages,
                                                   f"n{round_no}", template)
                if stored != expected or passed != expected:
                    raise SystemExit(f"auth on: stored {stored} posts, {passed} with dkim=pass "
                                     f"and dmarc=pass, expected {expected}")
                on.append(rate)
                print(f"round {round_no + 1}: auth off {off[-1]:.0f}/s, auth on {on[-1]:.0f}/s",
                      flush=True)
        finally:
            dns.send_signal(signal.SIGTERM)
            dns.wait(timeout=20)
    a, b = statistics.median(off), statistics.median(on)
    print(f"clients={args.clients} messages/round={args.messages} cpus={os.cpu_count()}")
    print(f"ccrlist ingest, auth off: {a:.0f} posts/s (median of {args.rounds})")
    print(f"ccrlist ingest, auth on:  {b:.0f} posts/s (median of {args.rounds}), each post "
          "DKIM-verified, SPF- and DMARC-checked")
    print(f"ratio on/off: {b / a:.2f}x")


if __name__ == "__main__":
    main()
