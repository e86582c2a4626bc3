"""A real browser (headless Chromium through Playwright) uses the blog served by corral."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.blog_support import init_blog_db, start_blog
from tests.support import ServerProcess

CHROMIUM = os.environ.get("CORRAL_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"Chromium not found at {CHROMIUM} (install the distribution's chromium package)",
    ),
]


@pytest.fixture(scope="module")
def blog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_path: Path = tmp_path_factory.mktemp("blog-browser") / "blog.sqlite"
    init_blog_db(db_path)
    srv = start_blog("corral", db_path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def page(blog: ServerProcess) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(base_url=f"http://{blog.host}:{blog.port}")
            context.set_default_timeout(15_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def test_register_login_write_and_read(page: Any) -> None:
    page.goto("/")
    assert page.locator("p.empty").inner_text() == "No posts yet."
    # The stylesheet is served and applied.
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "flex"

    page.click("text=Register")
    page.fill("#username", "browser-user")
    page.fill("#password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_url("**/auth/login")
    assert "Registration complete" in page.locator(".flash").inner_text()

    page.fill("#username", "browser-user")
    page.fill("#password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_selector("#whoami")
    assert page.locator("#whoami").inner_text() == "browser-user"

    page.click("a.action:has-text('New')")
    page.fill("#title", "Written in Chromium")
    page.fill("#body", "A post typed by a real browser.")
    page.click("input[type=submit]")
    page.wait_for_selector("article.post")
    assert page.locator("article.post h1").first.inner_text() == "Written in Chromium"
    assert "A post typed by a real browser." in page.locator("article.post .body").first.inner_text()
    assert "Post published." in page.locator(".flash").inner_text()

    # The post is still there on a fresh load of the index page.
    page.goto("/")
    assert page.locator("article.post h1").first.inner_text() == "Written in Chromium"
