"""What every page with a form needs: the HTML response, reading a POSTed form, and the
CSRF protection of the forms (a random `SameSite=Strict` cookie, an HMAC of it bound to
the page in a hidden field, and the Origin check)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ccrlist.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    csrf_ok,
    csrf_token,
    new_nonce,
    origin_ok,
)

HTML = "text/html"

Form = Mapping[str, object]


def html_page(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type=HTML, charset="utf-8")


async def read_form(request: web.Request, timeout: float) -> Form | None:
    """The POSTed form, or None when the body cannot be read (its errors are the client's)
    or has not arrived within `timeout` seconds (a slow client holds a connection)."""
    try:
        async with asyncio.timeout(timeout):
            return await request.post()
    except (ValueError, LookupError, HttpProcessingError, TimeoutError):
        # Broken multipart, a missing boundary, an unknown charset: bad input, not our fault.
        return None


def text_field(form: Form, name: str) -> str:
    """A form field as text; "" when it is missing or is a file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


class Csrf:
    """Issue and check the CSRF field of our forms."""

    def __init__(self, secret: bytes, base_url: str) -> None:
        self._secret = secret
        self._base_url = base_url

    def field(self, request: web.Request) -> tuple[str, str | None]:
        """The hidden field's value for a form at this page, and the nonce to set as a
        cookie when the browser has none yet (else None)."""
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = None if nonce else new_nonce()
        return csrf_token(self._secret, nonce or fresh or "", request.path), fresh

    def set_cookie(self, response: web.Response, nonce: str | None) -> None:
        if nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict",
                                path="/", secure=self._base_url.startswith("https:"))

    def passes(self, request: web.Request, form: Form) -> bool:
        request_origin = f"{request.scheme}://{request.host}"
        return (origin_ok(request.headers.get("Origin"), self._base_url, request_origin)
                and csrf_ok(self._secret, request.cookies.get(CSRF_COOKIE),
                            text_field(form, CSRF_FIELD) or None, request.path))
