"""The mail that carries a one-time sign-in link to the archive (pure)."""

from __future__ import annotations

from ccrlist.archive.texts import archive_texts
from ccrlist.automail import build_mail


def signin_mail(*, list_name: str, domain: str, address: str, link: str, minutes: float,
                lang: str, now: float) -> bytes:
    t = archive_texts(lang)
    values = {"list": list_name, "address": address, "link": link, "minutes": f"{minutes:g}"}
    return build_mail(list_name=list_name, domain=domain, to=(address,),
                      subject=t.mail_signin_subject.format(**values),
                      body=t.mail_signin_body.format(**values), lang=t.lang, now=now,
                      auto="auto-generated")
