"""A list's history for the archive benchmarks: an mbox of N posts in N/5 threads, English
and French, with replies that quote, a few HTML posts and attachments, over five years.

Deterministic (seeded), so every run measures the same archive.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

EN = (
    "refugee", "claimant", "hearing", "border", "policy", "meeting", "agenda", "minutes",
    "report", "budget", "settlement", "housing", "detention", "family", "reunification",
    "sponsorship", "youth", "network", "council", "member", "organisation", "training",
    "webinar", "consultation", "deadline", "application", "appeal", "citizenship",
    "immigration", "protection", "rights", "advocacy", "campaign", "workshop", "funding",
)
FR = (
    "réfugié", "demandeur", "audience", "frontière", "politique", "réunion", "ordre",
    "procès-verbal", "rapport", "budget", "établissement", "logement", "détention",
    "réunification", "familiale", "parrainage", "jeunesse", "réseau", "conseil", "membre",
    "organisme", "formation", "consultation", "échéance", "demande", "appel", "citoyenneté",
    "immigration", "protection", "droits", "plaidoyer", "campagne", "atelier", "financement",
    "éducation", "santé", "québec", "montréal",
)
FILLER = (
    "the", "of", "and", "to", "in", "for", "with", "on", "at", "by", "from", "that", "this",
    "we", "our", "will", "be", "are", "is", "as", "le", "la", "les", "des", "du", "de", "et",
    "à", "pour", "avec", "sur", "dans", "par", "nous", "notre", "est", "sont", "une", "un",
)
START = 1_622_505_600  # 2021-06-01: five years and a month end before today
SPAN = 5 * 365 * 86400


def _words(rng: random.Random, n: int, french: bool) -> str:
    vocab = FR if french else EN
    return " ".join(rng.choice(vocab) if rng.random() < 0.35 else rng.choice(FILLER)
                    for _ in range(n))


def _body(rng: random.Random, french: bool, quoted: str) -> str:
    lines = [_words(rng, rng.randint(8, 14), french).capitalize() + "."
             for _ in range(rng.randint(4, 14))]
    text = "\n".join(lines)
    if quoted:
        text += "\n\n" + "\n".join("> " + line for line in quoted.splitlines()[:8])
    return text + "\n\n-- \nCCR member organisation\n"


def write_history(path: Path, posts: int, threads: int, seed: int = 14) -> None:
    """Write `posts` messages in `threads` threads to the mbox `path`, oldest first."""
    rng = random.Random(seed)
    starts = sorted(rng.randrange(SPAN) for _ in range(threads))
    plan: list[tuple[int, int]] = [(START + s, t) for t, s in enumerate(starts)]
    for _ in range(posts - threads):
        t = rng.randrange(threads)
        plan.append((START + starts[t] + rng.randrange(1, 30 * 86400), t))
    plan.sort()
    subjects = {t: _words(rng, rng.randint(3, 7), t % 2 == 1).capitalize()
                for t in range(threads)}
    thread_posts: dict[int, list[tuple[str, str]]] = {}
    with path.open("wb") as out:
        for n, (when, t) in enumerate(plan):
            french = t % 2 == 1
            earlier = thread_posts.setdefault(t, [])
            parent = rng.choice(earlier) if earlier else None
            author = f"member{rng.randrange(400)}@org{rng.randrange(170)}.example"
            mid = f"<{n}.{t}@history.example>"
            stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
            envelope = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(when))
            subject = subjects[t] if parent is None else ("Re: " if not french else "RE: ") \
                + subjects[t]
            body = _body(rng, french, parent[1] if parent else "")
            head = [f"From: Member {n % 400} <{author}>", f"Subject: {subject}",
                    f"Date: {stamp}", f"Message-ID: {mid}", "MIME-Version: 1.0"]
            if parent is not None:
                head += [f"In-Reply-To: {parent[0]}", f"References: {parent[0]}"]
            if n % 50 == 7:  # now and then an HTML-only post
                head.append("Content-Type: text/html; charset=utf-8")
                text = "<p>" + body.replace("\n", "<br>") + "</p>"
            elif n % 40 == 3:  # and a post with an attachment
                head.append('Content-Type: multipart/mixed; boundary="b"')
                text = (f"--b\nContent-Type: text/plain; charset=utf-8\n\n{body}\n--b\n"
                        f"Content-Type: application/pdf\nContent-Disposition: attachment; "
                        f'filename="minutes-{n}.pdf"\nContent-Transfer-Encoding: base64\n\n'
                        + "JVBERi0xLjQK" * 40 + "\n--b--\n")
            else:
                head += ["Content-Type: text/plain; charset=utf-8",
                         "Content-Transfer-Encoding: 8bit"]
                text = body
            earlier.append((mid, body))
            out.write(f"From {author} {envelope}\n".encode())
            whole = "\n".join(head) + "\n\n" + text + "\n"
            out.write(whole.replace("\nFrom ", "\n>From ").encode())
