"""Render the archive's pages from what the store returns (pure): the list's index, a
month, a thread, a message, search results, and the sign-in pages.

Every page is plain HTML from autoescaped templates, in the visitor's language,
with no script; bodies come from `body.py`, already escaped or sanitised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ccrlist.archive.body import highlighted, html_body, person, text_body
from ccrlist.archive.search import SearchForm
from ccrlist.archive.texts import ArchiveTexts
from subscribers.archive_models import ArchivedPost, SearchHit, ThreadSummary
from subscribers.models import Timestamp


def make_environment() -> Environment:
    return Environment(loader=PackageLoader("ccrlist.archive", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=False)


@dataclass(frozen=True)
class Frame:
    """What every page shows around its content."""

    t: ArchiveTexts
    title: str
    list_name: str = ""
    home: str = ""  # the list's index
    search: str = ""
    switch: str = ""  # this page in the other language
    keep: str = ""  # "?lang=fr" when the language was chosen by the URL
    feed: str = ""
    public: bool = False
    visitor: str = ""  # signed-in address
    signout: str = ""
    csrf: str = ""


@dataclass
class Node:
    post: dict[str, Any]
    children: list[Node] = field(default_factory=list)


MAX_DEPTH = 8  # deeper replies are shown at this depth: lists nested further help nobody


def _cap_depth(roots: list[Node]) -> None:
    """Hang every reply deeper than MAX_DEPTH under its ancestor at that depth."""
    stack = [(node, 1) for node in roots]
    while stack:
        node, depth = stack.pop()
        if depth == MAX_DEPTH:
            flat: list[Node] = []
            pending = list(node.children)
            while pending:
                child = pending.pop(0)
                flat.append(child)
                pending[:0] = child.children
                child.children = []
            node.children = flat
        else:
            stack.extend((child, depth + 1) for child in node.children)


def when(at: Timestamp, t: ArchiveTexts) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    day = t.date.format(day=moment.day, month=t.months[moment.month - 1], year=moment.year)
    return f"{day}, {moment:%H:%M} UTC"


def month_label(month: str, t: ArchiveTexts) -> str:
    year, number = month.split("-")
    return f"{t.months[int(number) - 1]} {year}".capitalize()


def count_label(n: int, t: ArchiveTexts) -> str:
    return t.one_post if n == 1 else t.n_posts.format(n=n)


def size_label(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"  # pragma: no cover


class ArchivePages:
    """Page renderers over one Jinja2 environment; `root` is the archive's path prefix."""

    def __init__(self, env: Environment, root: str) -> None:
        self._env = env
        self._root = root

    def list_path(self, list_name: str) -> str:
        return f"{self._root}{list_name}/"

    def post_path(self, permalink: str) -> str:
        return f"{self._root}{permalink}/"

    def thread_path(self, list_name: str, thread_id: int) -> str:
        return f"{self._root}{list_name}/thread/{thread_id}/"

    def _render(self, name: str, frame: Frame, **values: Any) -> str:
        return self._env.get_template(name).render(f=frame, **values)

    def _thread_row(self, f: Frame, th: ThreadSummary, count: int | None = None) -> dict[str, Any]:
        return {"url": self.thread_path(f.list_name, th.id),
                "subject": th.subject or f.t.no_subject,
                "by": f.t.started_by.format(author=person(th.author_name, th.author, f.public)),
                "count": count_label(th.posts if count is None else count, f.t),
                "last": when(th.last, f.t)}

    def index(self, f: Frame, months: Sequence[tuple[str, int]],
              threads: Sequence[ThreadSummary], personal_feed: str = "") -> str:
        return self._render(
            "index.html.j2", f, form=SearchForm(), personal_feed=personal_feed,
            threads=[self._thread_row(f, th) for th in threads],
            months=[{"url": f"{self.list_path(f.list_name)}{m}/",
                     "label": month_label(m, f.t), "count": count_label(n, f.t)}
                    for m, n in months])

    def month(self, f: Frame, threads: Sequence[tuple[ThreadSummary, int]],
              previous: str = "", following: str = "") -> str:
        return self._render("month.html.j2", f, previous=previous, following=following,
                            threads=[self._thread_row(f, th, n) for th, n in threads])

    def _post(self, f: Frame, post: ArchivedPost, link: bool,
              parent: ArchivedPost | None = None) -> dict[str, Any]:
        body: Markup = (text_body(post.body, f.t, f.public) if post.body_kind == "text"
                        else html_body(post.body, f.t, f.public))
        base = self.post_path(post.permalink)
        return {"id": post.post_id, "subject": post.subject or f.t.no_subject,
                "url": base if link else "",
                "author": person(post.author_name, post.author, f.public),
                "iso": datetime.fromtimestamp(post.date, UTC).isoformat(),
                "when": when(post.date, f.t), "body": body,
                "parent_url": self.post_path(parent.permalink) if parent else "",
                "parent_subject": (parent.subject or f.t.no_subject) if parent else "",
                "attachments": [{"url": f"{base}attachment/{a.part}/{quote(a.filename)}",
                                 "filename": a.filename, "content_type": a.content_type,
                                 "size": size_label(a.size)} for a in post.attachments]}

    def thread(self, f: Frame, posts: Sequence[ArchivedPost]) -> str:
        """The thread as nested lists: each reply under the post it answers."""
        nodes = {p.post_id: Node(self._post(f, p, link=True)) for p in posts}
        roots: list[Node] = []
        for p in posts:
            parent = nodes.get(p.parent_id) if p.parent_id is not None else None
            (parent.children if parent is not None else roots).append(nodes[p.post_id])
        _cap_depth(roots)
        return self._render("thread.html.j2", f, tree=roots)

    def message(self, f: Frame, post: ArchivedPost, parent: ArchivedPost | None,
                thread_count: int) -> str:
        return self._render("message.html.j2", f, p=self._post(f, post, False, parent),
                            thread_url=self.thread_path(post.list_name, post.thread_id),
                            thread_count=count_label(thread_count, f.t))

    def search(self, f: Frame, form: SearchForm, hits: Sequence[SearchHit] | None,
               first: int = 1, previous: str = "", following: str = "",
               error: str = "") -> str:
        rows = [{"url": self.post_path(h.permalink),
                 "subject": highlighted(h.subject or f.t.no_subject, f.public),
                 "author": person(h.author_name, h.author, f.public),
                 "iso": datetime.fromtimestamp(h.date, UTC).isoformat(),
                 "when": when(h.date, f.t), "snippet": highlighted(h.snippet, f.public)}
                for h in hits or ()]
        return self._render("search.html.j2", f, form=form, hits=rows,
                            searched=hits is not None, first=first, previous=previous,
                            following=following, error=error)

    def signin(self, f: Frame, intro: str, label: str, action: str, csrf: str, next_path: str,
               email: str = "", error: str = "") -> str:
        return self._render("signin.html.j2", f, intro=intro, label=label, action=action,
                            csrf=csrf, next=next_path, email=email, error=error)

    def button(self, f: Frame, prompt: str, button: str, csrf: str) -> str:
        return self._render("button.html.j2", f, prompt=prompt, button=button, csrf=csrf)

    def notice(self, f: Frame, text: str, alert: bool = False,
               links: Sequence[tuple[str, str]] = ()) -> str:
        return self._render("notice.html.j2", f, text=text, alert=alert, links=links)
