"""What the machine proxy lets through, each way: paths, query keys, headers, content types.

The machine may be compromised (docs/architecture.md, trust boundaries): a file on it must not
become a page of the local JupyterLab origin (where it would run with the user's session), and
nothing of the browser's session (cookies, XSRF token, our Jupyter token) may reach it. Pure
functions, so each rule has a unit test.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

from tornado import web

# Query keys JupyterLab's Drive and terminal manager send (contents: type, format, content,
# hash; download: download). Anything else is dropped rather than passed to the machine.
QUERY_KEYS = frozenset({"type", "format", "content", "hash", "download"})
# Request headers passed on to the machine server (its own token is added by the proxy).
REQUEST_HEADERS = frozenset({"content-type", "content-length", "accept", "if-none-match"})
# Reply headers passed back to the browser; the content type is chosen here, never passed as is.
REPLY_HEADERS = frozenset({"content-length", "last-modified", "etag", "cache-control"})
# Types a browser shows without running anything of the file's (no HTML, SVG, XML, JS, PDF).
INERT_TYPES = frozenset(
    {
        "text/plain",
        "text/csv",
        "application/json",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "audio/mpeg",
        "audio/wav",
        "video/mp4",
        "video/webm",
    }
)
# Extensions a browser may treat as active content whatever the type says: always attachments.
ACTIVE_EXTENSIONS = frozenset(
    {".html", ".htm", ".xhtml", ".svg", ".svgz", ".xml", ".xsl", ".js", ".mjs", ".pdf", ".swf"}
)
# The machine's replies are data, never a page: no script, no plugin, a unique origin.
SANDBOX_CSP = "sandbox; default-src 'none'"
FALLBACK_TYPE = "application/octet-stream"
# A control character, a backslash or a NUL in a path: refused (Windows-style or truncation tricks).
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")


def confined_path(path: str) -> str:
    """The path relative to the machine server's root, checked and quoted for its URL.

    ``path`` is as tornado decoded it from the URL (``%2e%2e`` is already ``..``). Refused (400):
    an absolute path (``//etc``), ``.`` or ``..`` segments (also those that decode to them once
    more), empty segments, NUL, control characters and backslashes. Empty is the root.
    """
    if path == "":
        return ""
    if _FORBIDDEN_CHARACTERS.search(path) or path.startswith("/"):
        raise web.HTTPError(400, reason=f"The path {path[:200]!r} is not allowed.")
    segments = path.rstrip("/").split("/") if path != "/" else []
    for segment in segments:
        if segment in ("", ".", "..") or unquote(segment) in (".", ".."):
            raise web.HTTPError(
                400, reason=f"The path {path[:200]!r} leaves the machine's folder: not allowed."
            )
    if posixpath.normpath("/" + "/".join(segments)) != "/" + "/".join(segments):
        raise web.HTTPError(400, reason=f"The path {path[:200]!r} is not allowed.")
    return "/".join(quote(segment, safe="") for segment in segments)


def body_path(value: object) -> None:
    """A path named in a JSON body (rename's ``path``, copy's ``copy_from``): the same rules."""
    if not isinstance(value, str):
        raise web.HTTPError(400, reason="A path in the request is not text.")
    confined_path(value.removeprefix("/"))  # jupyter_server reads "/a" as "a"; "//a" stays refused


def query_string(arguments: dict[str, list[bytes]]) -> str:
    """The allowed keys of the browser's query, quoted again (``?`` included when any)."""
    pairs = [
        f"{key}={quote(value.decode('utf-8', 'replace'), safe='')}"
        for key, values in arguments.items()
        if key in QUERY_KEYS
        for value in values[:1]
    ]
    return "?" + "&".join(pairs) if pairs else ""


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The browser's headers that the machine server needs, and no others (no cookie, XSRF
    token, Authorization, Origin or Host)."""
    return [(name, value) for name, value in headers if name.lower() in REQUEST_HEADERS]


def reply_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The machine server's headers that may reach the browser (no Set-Cookie, Location, CSP,
    Content-Type or Content-Disposition of its own)."""
    return [(name, value) for name, value in headers if name.lower() in REPLY_HEADERS]


def file_content_type(path: str, upstream_type: str | None) -> tuple[str, bool]:
    """(Content-Type, attachment?) for a file served from the machine: the machine's type when
    it is inert, else ``application/octet-stream``; HTML, SVG, XML, JS and such always go as
    attachments, whatever type the machine gave them."""
    media = (upstream_type or "").split(";", 1)[0].strip().lower()
    extension = posixpath.splitext(path.lower())[1]
    active = extension in ACTIVE_EXTENSIONS
    if media in INERT_TYPES and not active:
        charset = "; charset=utf-8" if media.startswith("text/") else ""
        return media + charset, False
    return FALLBACK_TYPE, True
