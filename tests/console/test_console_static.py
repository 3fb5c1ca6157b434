"""Static files come from the package, versioned by their content and cached for a year; no
page loads anything from another host; htmx is the pinned release, with its licence."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.console.conftest import ConsoleHarness

CONSOLE = Path(__file__).resolve().parents[2] / "api" / "console"
HTMX = "vendor/htmx-2.0.11.min.js"
# sha256 of htmx.org@2.0.11's package/dist/htmx.min.js (npm pack htmx.org@2.0.11).
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_htmx_is_the_pinned_release_with_its_licence():
    body = (CONSOLE / "static" / HTMX).read_bytes()
    assert hashlib.sha256(body).hexdigest() == HTMX_SHA256
    assert "Zero-Clause BSD" in (CONSOLE / "static" / "vendor" / "htmx-LICENSE.txt").read_text()
    assert HTMX_SHA256 in (CONSOLE / "static" / "vendor" / "README.txt").read_text()


def test_no_template_or_style_loads_anything_from_another_host():
    for path in [*(CONSOLE / "templates").rglob("*.html"), CONSOLE / "static" / "duban.css"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href|action)=["'](https?:)?//""", text), path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", text), path
        assert "<script>" not in text and " style=" not in text, path  # the CSP forbids them


async def test_a_versioned_static_url_is_cached_for_a_year_and_an_unversioned_one_revalidates(
    console: ConsoleHarness,
):
    client = console.client()
    page = await client.get("/console/sign-in")
    found = re.search(r'href="(/console/static/duban\.css\?v=([0-9a-f]{12}))"', page.text)
    assert found, page.text[:1500]
    url, version = found.groups()
    css = (CONSOLE / "static" / "duban.css").read_bytes()
    assert version == hashlib.sha256(css).hexdigest()[:12]
    answer = await client.get(url)
    assert answer.status_code == 200 and answer.content == css
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith("text/css")
    plain = await client.get("/console/static/duban.css")
    assert plain.headers["cache-control"] == "no-cache"
    again = await client.get(
        "/console/static/duban.css", headers={"If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 304
    script = re.search(
        r'src="(/console/static/vendor/htmx-[0-9.]+min\.js\?v=[0-9a-f]+)"', page.text
    )
    assert script and (await client.get(script.group(1))).status_code == 200
    for missing in ("nothing.css", "../templates/base.html", "%2e%2e/install.py", "vendor"):
        assert (await client.get(f"/console/static/{missing}")).status_code == 404, missing
