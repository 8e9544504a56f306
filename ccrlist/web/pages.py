"""Render the web pages from Jinja2 templates (autoescaped) and choose their language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ccrlist.catalogue import CATALOGUE, Messages
from subscribers.models import Lang


def make_environment() -> Environment:
    return Environment(
        loader=PackageLoader("ccrlist.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )


def pick_lang(requested: str | None, accept_language: str | None) -> Lang:
    """An explicit `?lang=` wins, then the first of en/fr in Accept-Language, then English."""
    if requested in ("en", "fr"):
        return "fr" if requested == "fr" else "en"
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()[:2]))
    for neg_q, _, tag in sorted(ranked):
        if neg_q < 0 and tag in ("en", "fr"):
            return "fr" if tag == "fr" else "en"
    return "en"


@dataclass(frozen=True)
class SubscriptionView:
    """What the member's own page shows."""

    address: str
    list_name: str
    csrf: str
    notice: str  # after a save: what is now in force
    error: str
    digests: bool  # the list offers digests (the newsletter does not)
    modes: tuple[tuple[str, str], ...]  # (value, label)
    mode: str
    digest_format: str
    paused: bool
    pause_until: str  # YYYY-MM-DD or ""
    earliest: str  # the first day a pause may end on
    pause_note: str
    lang: Lang


class Pages:
    """The page renderers, over one Jinja2 environment."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    def message(self, t: Messages, title: str, message: str, alert: bool = False) -> str:
        return self._env.get_template("message.html.j2").render(
            lang=t.lang, title=title, message=message, alert=alert)

    def button(self, t: Messages, title: str, prompt: str, button: str,
               hidden: Sequence[tuple[str, str]]) -> str:
        return self._env.get_template("button.html.j2").render(
            lang=t.lang, title=title, prompt=prompt, button=button, hidden=hidden)

    def subscribe(self, t: Messages, list_name: str, csrf: str, email: str = "",
                  name: str = "", error: str = "") -> str:
        return self._env.get_template("subscribe.html.j2").render(
            lang=t.lang, t=t, title=t.subscribe_title.format(list=list_name), csrf=csrf,
            email=email, name=name, error=error,
            languages=[(code, m.language_name) for code, m in CATALOGUE.items()])

    def subscription(self, t: Messages, view: SubscriptionView) -> str:
        return self._env.get_template("subscription.html.j2").render(
            lang=t.lang, t=t, v=view,
            title=t.page_title.format(list=view.list_name),
            intro=t.page_intro.format(address=view.address, list=view.list_name),
            pause_box=t.pause_box.format(list=view.list_name),
            unsubscribe_prompt=t.unsubscribe_prompt.format(address=view.address,
                                                           list=view.list_name),
            languages=[(code, m.language_name) for code, m in CATALOGUE.items()])

    def leave(self, t: Messages, list_name: str, csrf: str, email: str = "",
              error: str = "") -> str:
        return self._env.get_template("leave.html.j2").render(
            lang=t.lang, t=t, title=t.unsubscribe_title.format(list=list_name), csrf=csrf,
            email=email, error=error)
