"""The console's static files, served from the installed package.

Every file is read once when the app is built and named in pages with its content hash as a
version (``/console/static/duban.css?v=3f2a…``): a URL with the current version is cached for a
year (``immutable``), so a browser asks again only when the file changed, and a new release can
never be mixed with a stale file. No page loads anything from another host.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

STATIC_PREFIX = "/console/static/"
LONG_CACHE = "public, max-age=31536000, immutable"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    version: str
    media_type: str


def _walk(folder: Traversable, prefix: str = "") -> dict[str, StaticFile]:
    found: dict[str, StaticFile] = {}
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found |= _walk(entry, f"{name}/")
        elif not entry.name.startswith("."):
            body = entry.read_bytes()
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            media_type = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
            found[name] = StaticFile(
                body,
                hashlib.sha256(body).hexdigest()[:12],
                media_type or "application/octet-stream",
            )
    return found


class StaticAssets:
    def __init__(self) -> None:
        self.files = _walk(files("api.console") / "static")

    def url(self, name: str) -> str:
        """The versioned URL of ``name`` (a KeyError for a file the package lacks)."""
        return f"{STATIC_PREFIX}{name}?v={self.files[name].version}"
