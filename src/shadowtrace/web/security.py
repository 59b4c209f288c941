"""Request limits and the access token, as one pure ASGI middleware in front of everything
(page, static files, API, docs), so no route can forget them."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shadowtrace.web.errors import error_response

MAX_QUERY_BYTES = 2048
MAX_PATH_BYTES = 2048
ALLOWED_METHODS = ("GET", "HEAD")
TOKEN_COOKIE = "shadowtrace_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
    "cross-origin-resource-policy": "same-origin",
}


def _host_name(value: str) -> str:
    """``example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class SecurityMiddleware:
    """Refuses what a read-only API never needs (other methods, bodies, huge URIs), checks the
    token when one is set, and with ``allowed_hosts`` the Host header (a page on another site
    that rebinds its DNS name to 127.0.0.1 then still cannot read the API)."""

    def __init__(self, app: ASGIApp, token: str | None = None,
                 allowed_hosts: Iterable[str] | None = None):
        self.app = app
        self.token = token or None
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: nothing here speaks them
            await send({"type": "websocket.close", "code": 1008})
            return
        head = scope["method"] == "HEAD"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in _HEADERS.items():
                    if key not in headers:
                        headers[key] = value
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_wrapper)
            return
        if head:  # answered as GET without the body (routes only declare GET)
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send_wrapper)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        path = scope.get("raw_path") or scope["path"].encode()
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES or len(path) > MAX_PATH_BYTES:
            return error_response(414, f"URI too long: the query string may have at most {MAX_QUERY_BYTES} bytes")
        if scope["method"] not in ALLOWED_METHODS:
            return error_response(405, f"method {scope['method'][:10]} not allowed: this API is read-only",
                                  headers={"Allow": ", ".join(ALLOWED_METHODS)})
        length = headers.get("content-length")
        if "transfer-encoding" in headers or (length is not None and length.strip() != "0"):
            return error_response(413, "request bodies are not accepted: this API is read-only")
        if self.allowed_hosts is not None:
            host = _host_name(headers.get("host", ""))
            if host not in self.allowed_hosts:
                return error_response(400, f"host {host[:60]!r} is not served here",
                                      [{"field": "header.host", "message": "not an allowed host"}])
        if self.token is None:
            return None
        if scope["path"] == "/" and scope.get("query_string"):
            given = parse_qs(scope["query_string"].decode("latin-1")).get("token")
            if given is not None:
                if not self._matches(given[0]):
                    return self._unauthorised()
                # Swap the token in the URL for a cookie, so it leaves the address bar and history.
                response = RedirectResponse("/", status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
                return response
        auth = headers.get("authorization", "")
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and self._matches(credentials.strip()):
            return None
        if self._matches(cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE, "")):
            return None
        return self._unauthorised()

    def _matches(self, given: str) -> bool:
        assert self.token is not None
        return bool(given) and hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    @staticmethod
    def _unauthorised() -> Response:
        return error_response(401, "missing or wrong token: send `Authorization: Bearer <token>`, "
                                   "or open /?token=<token> once in the browser",
                              headers={"WWW-Authenticate": "Bearer"})
