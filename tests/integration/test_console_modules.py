"""The console's modules as a browser meets them, from a real ``modelyard serve``: starting
at the page's entry and following each ``import … from "./x.js"``, every module comes as
JavaScript under one digest, the page preloads them all, every file in ui/ is one of them,
and none grows past a small module's size (the split stays a split)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from tests.integration.serving_fixtures import running_server

import modelyard
from modelyard import Yard

pytestmark = pytest.mark.slow

UI = Path(modelyard.__file__).parent / "serving" / "ui"
MAX_LINES = 250
IMPORT = re.compile(r'^import\s[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"', re.MULTILINE)


def imports(source: str) -> list[str]:
    return [spec for pair in IMPORT.findall(source) for spec in pair if spec]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, httpx.Response]]]:
    """The page, and each module reached from its entry by URL."""
    home = tmp_path_factory.mktemp("modules")
    Yard(home).close()
    with running_server(home, "--dev") as server, server.client() as client:
        page = client.get("/ui").text
        entry = re.search(r'<script type="module" src="([^"]+)"', page)
        assert entry is not None
        todo, modules = [urljoin(f"{server.url}/ui", entry[1])], {}
        while todo:
            url = todo.pop()
            if url not in modules:
                modules[url] = client.get(url)
                todo += [urljoin(url, spec) for spec in imports(modules[url].text)]
        yield page, modules


def test_every_module_the_entry_imports_is_served_as_javascript(served) -> None:
    _, modules = served
    assert {url: r.status_code for url, r in modules.items() if r.status_code != 200} == {}
    types = {r.headers["content-type"] for r in modules.values()}
    assert types == {"text/javascript; charset=utf-8"}
    assert {url.rsplit("/", 1)[1] for url in modules} == {path.name for path in UI.glob("*.js")}


def test_modules_import_by_relative_url_under_one_digest_all_preloaded(served) -> None:
    page, modules = served
    specs = {spec for r in modules.values() for spec in imports(r.text)}
    assert {spec for spec in specs if not re.fullmatch(r"\./[a-z-]+\.js", spec)} == set()
    assert len({url.rsplit("/", 2)[1] for url in modules}) == 1
    assert all("immutable" in r.headers["cache-control"] for r in modules.values())
    preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)
    assert {path.rsplit("/", 1)[1] for path in preloaded} | {"app.js"} == {
        url.rsplit("/", 1)[1] for url in modules
    }


def test_no_module_is_over_250_lines(served) -> None:
    _, modules = served
    lines = {url.rsplit("/", 1)[1]: len(r.text.splitlines()) for url, r in modules.items()}
    assert {name: n for name, n in lines.items() if n > MAX_LINES} == {}
