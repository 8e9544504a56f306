"""SPF (RFC 7208) with pyspf, run in a worker thread whose DNS goes through our async resolver.

pyspf is synchronous and looks DNS up through its module-level `DNSLookup`
function, with no per-query hook. We install one lookup function once; inside
an SPF check it hands each query to the event loop's `Resolver` and waits
for the answer, so the loop never blocks and every query has our timeout.
Outside our checks (no bridge set) pyspf's own lookup is used unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import spf

from ccrlist.auth.dmarc import MethodResult, SpfCheck
from ccrlist.auth.resolver import DnsTemporaryError, Resolver

Lookup = Callable[[str, str], list[Any]]
_BRIDGE: contextvars.ContextVar[Lookup] = contextvars.ContextVar("ccrlist_spf_bridge")
_PYSPF_LOOKUP = spf.DNSLookup
_RESULTS: dict[str, MethodResult] = {
    "pass": "pass", "fail": "fail", "softfail": "softfail", "neutral": "neutral",
    "none": "none", "temperror": "temperror", "permerror": "permerror"}


def _lookup(name: str, qtype: str, strict: object = True, timeout: float = 20) -> list[Any]:
    bridge = _BRIDGE.get(None)
    if bridge is None:
        return list(_PYSPF_LOOKUP(name, qtype, strict, timeout))
    return bridge(name, qtype)


spf.DNSLookup = _lookup


def _records(name: str, qtype: str, rdatas: list[Any]) -> list[tuple[tuple[str, str], Any]]:
    """Answers in the shape pyspf's own dnspython lookup returns."""
    out: list[tuple[tuple[str, str], Any]] = []
    for rdata in rdatas:
        if qtype in ("A", "AAAA"):
            value: Any = rdata.address
        elif qtype == "MX":
            value = (rdata.preference, rdata.exchange)
        elif qtype == "PTR":
            value = rdata.target.to_text(True)
        elif qtype in ("TXT", "SPF"):
            value = rdata.strings
        else:
            continue
        out.append(((name, qtype), value))
    return out


def _bridge(resolver: Resolver, loop: asyncio.AbstractEventLoop) -> Lookup:
    def lookup(name: str, qtype: str) -> list[Any]:
        future = asyncio.run_coroutine_threadsafe(resolver.query(name, qtype), loop)
        try:
            # The resolver's own timeout ends the query; this only bounds a stuck loop.
            rdatas = future.result(timeout=resolver.timeout * 2 + 1)
        except DnsTemporaryError as exc:
            raise spf.TempError(str(exc)) from None
        except TimeoutError:
            future.cancel()
            raise spf.TempError(f"DNS {qtype} {name}: no answer in time") from None
        return _records(name, qtype, rdatas)

    return lookup


def _check(bridge: Lookup, ip: str, sender: str, helo: str) -> tuple[str, str]:
    _BRIDGE.set(bridge)  # this thread's copy of the context only
    result, _explanation = spf.check2(i=ip, s=sender, h=helo)
    return str(result), _explanation


async def check_spf(resolver: Resolver, ip: str, envelope_from: str, helo: str,
                    threads: Executor, deadline: float) -> SpfCheck:
    """SPF for the MAIL FROM identity (the HELO identity for a null sender).

    pyspf runs on `threads`, a pool of its own, so slow SPF chains cannot take the
    threads that other work needs; past `deadline` seconds the result is temperror
    (the thread finishes its lookups in the background, each bounded by the resolver).
    """
    sender = envelope_from.strip("<> ")
    domain = (sender.rpartition("@")[2] if sender else helo).lower()
    if not ip or not domain:
        return SpfCheck(domain, "none")
    loop = asyncio.get_running_loop()
    bridge = _bridge(resolver, loop)
    try:
        result, _ = await asyncio.wait_for(
            loop.run_in_executor(threads, _check, bridge, ip, sender, helo or domain),
            deadline)
    except TimeoutError:
        return SpfCheck(domain, "temperror")
    return SpfCheck(domain, _RESULTS.get(result.lower(), "permerror"))
