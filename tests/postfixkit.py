"""A private Postfix for tests, set up from the README's "Behind Postfix" lines.

The instance has its own config, queue and data directories under a temporary
folder, listens on loopback high ports only, and delivers the members' mail into
Maildirs (virtual(8)); anything for other domains goes to a server the test runs in
place of the Internet. The README's main.cf, master.cf and ccr.toml lines are used
as written, with only the domain and the ports replaced: a README that drifts from
what works fails here.

Postfix's master must be started by root (CI runs as root). `skip_reason()` says
why these tests cannot run on this machine.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
MEMBER_DOMAIN = "members.example.org"  # the members' mailboxes, on this Postfix
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold", "corrupt")

# What a private instance needs besides the README's lines; never for production.
_MAIN_CF = """
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Not under the list domain: relay_domains also covers its subdomains.
myhostname = mx.example.net
mydestination =
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
# Every other domain: the test's stand-in for the Internet, never the real one.
default_transport = smtp:[127.0.0.1]:{internet_port}
virtual_mailbox_domains = {member_domain}
virtual_mailbox_base = {dir}/mail
virtual_mailbox_maps = texthash:{dir}/etc/mailboxes
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
"""

# Postfix's own services, as in its stock master.cf (no chroot).
_MASTER_CF = """
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _command(name: str) -> str | None:
    return shutil.which(name, path=SBIN)


def skip_reason() -> str | None:
    """Why a private Postfix cannot run here, or None."""
    if _command("postfix") is None or _command("postqueue") is None:
        return "Postfix is not installed (.ci/run installs Debian's postfix package)"
    if os.geteuid() != 0:
        return "Postfix's master process must be started as root (CI runs as root)"
    return None


def readme_blocks() -> dict[str, str]:
    """The fenced blocks of the README's "Behind Postfix" section, by their first line."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n### Behind Postfix\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", section, flags=re.M | re.S)
    return {block.splitlines()[0]: block for block in blocks}


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced; an old that is not there is the README's
    drift, and fails loudly."""
    for old, new in pairs:
        assert old in text, f"the README's Postfix lines no longer contain {old!r}"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Ports:
    mx: int  # the README's smtp inet: the list domain's MX
    relay: int  # the README's 127.0.0.1:10025: ccrlist's [relay]
    ccrlist: int  # the README's 8025: ccrlist serve
    internet: int  # the test's stand-in for every other domain's MX


def readme_settings(domain: str, ports: Ports) -> dict[str, object]:
    """The README's ccr.toml, parsed, with the test's domain and ports."""
    toml = replaced(readme_blocks()["# ccr.toml"], ("lists.ccrweb.ca", domain),
                    ("port = 8025", f"port = {ports.ccrlist}"),
                    ("port = 10025", f"port = {ports.relay}"))
    return tomllib.loads(toml)


class PrivatePostfix:
    """One Postfix instance; `stop()` ends it and removes its directory."""

    def __init__(self, domain: str, ports: Ports, mailboxes: list[str],
                 spool: Path | None = None) -> None:
        """`spool`: a queue directory made by `check()` to copy (faster than a new one)."""
        self.domain = domain
        self.ports = ports
        # Not under pytest's tmp_path: Postfix and the mailbox owner (nobody) must be able
        # to reach it, and pytest's folders are root's alone.
        self.dir = Path(tempfile.mkdtemp(prefix="ccr-postfix-"))
        self.dir.chmod(0o755)
        self.etc = self.dir / "etc"
        self.spool = self.dir / "spool"
        self._started = False
        self._write_config(mailboxes)
        if spool is None:
            self.spool.mkdir()
        else:  # owners and modes as `postfix check` set them
            subprocess.run(["cp", "-a", str(spool), str(self.spool)], check=True, timeout=60)

    def check(self) -> None:
        """`postfix check`: creates the queue's directories (two seconds or so)."""
        done = self._postfix("check")
        assert done.returncode == 0, f"postfix check: {done.stderr}"

    def _write_config(self, mailboxes: list[str]) -> None:
        blocks = readme_blocks()
        main = replaced(blocks["# /etc/postfix/main.cf"], ("lists.ccrweb.ca", self.domain),
                        ("[127.0.0.1]:8025", f"[127.0.0.1]:{self.ports.ccrlist}"))
        master = replaced(blocks["# /etc/postfix/master.cf"],
                          ("smtp      inet", f"127.0.0.1:{self.ports.mx} inet"),
                          ("127.0.0.1:8025", f"127.0.0.1:{self.ports.ccrlist}"),
                          ("127.0.0.1:10025 inet", f"127.0.0.1:{self.ports.relay} inet"))
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "data", "mail"):
            (self.dir / sub).mkdir()
        shutil.chown(self.dir / "data", "postfix")
        os.chown(self.dir / "mail", nobody.pw_uid, nobody.pw_gid)
        (self.etc / "main.cf").write_text(_MAIN_CF.format(
            dir=self.dir, internet_port=self.ports.internet,
            member_domain=MEMBER_DOMAIN, uid=nobody.pw_uid, gid=nobody.pw_gid) + main,
            encoding="utf-8")
        (self.etc / "master.cf").write_text(_MASTER_CF + master, encoding="utf-8")
        (self.etc / "mailboxes").write_text("".join(
            f"{box} {MEMBER_DOMAIN}/{box.partition('@')[0]}/\n" for box in mailboxes),
            encoding="utf-8")
        # Postfix rereads a configuration file younger than a few seconds until it is
        # older (it could still be being written): two seconds per start, unless dated back.
        an_hour_ago = time.time() - 3600
        for written in self.etc.iterdir():
            os.utime(written, (an_hour_ago, an_hour_ago))

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        postfix = _command("postfix")
        assert postfix is not None
        return subprocess.run([postfix, "-c", str(self.etc), *args], capture_output=True,
                              text=True, timeout=60, check=False)

    def start(self) -> None:
        self._started = True
        done = self._postfix("start")
        assert done.returncode == 0, f"postfix start: {done.stderr}\n{self.maillog()}"
        deadline = time.monotonic() + 10
        while True:  # master opens its listeners before `start` returns; make sure
            try:
                socket.create_connection(("127.0.0.1", self.ports.mx), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"Postfix is not listening\n{self.maillog()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the instance (by its master's pid if `postfix stop` leaves it running) and
        remove its directory."""
        try:
            if self._started:
                pid = self._master_pid()
                self._postfix("stop")
                if pid is not None:
                    self._wait_gone(pid)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _master_pid(self) -> int | None:
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _wait_gone(pid: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, 9)  # our instance's master, by its own pid; its children follow it

    def maillog(self) -> str:
        try:
            return (self.dir / "maillog").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def queued(self) -> list[str]:
        """Queue files anywhere in the queue: mail Postfix has and has not delivered."""
        return [str(p.relative_to(self.spool)) for q in QUEUES if (self.spool / q).is_dir()
                for p in (self.spool / q).rglob("*") if p.is_file()]

    def postqueue(self) -> str:
        """`postqueue -p` for this instance ("Mail queue is empty" when it is)."""
        postqueue = _command("postqueue")
        assert postqueue is not None
        done = subprocess.run([postqueue, "-c", str(self.etc), "-p"], capture_output=True,
                              text=True, timeout=30, check=False)
        return (done.stdout + done.stderr).strip()

    def mailbox(self, address: str) -> list[bytes]:
        """The messages delivered to a member's Maildir, oldest first."""
        new = self.dir / "mail" / MEMBER_DOMAIN / address.partition("@")[0] / "new"
        if not new.is_dir():
            return []
        return [p.read_bytes() for p in sorted(new.iterdir(), key=lambda p: p.name)]
