"""End to end: the real app in a real headless Chromium (Debian's), driven by Playwright."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.locations import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` on a free loopback port and wait until it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the app did not start: {process.stdout.read().decode(errors='replace')[-2000:]}")


@pytest.fixture
def app_env(private_work_dir) -> dict[str, str]:
    return {**os.environ, "VITRINE_WORK_DIR": str(private_work_dir)}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_results_page_shows_the_scenario_table_in_a_real_browser(app_env, browser, tmp_path: Path):
    process, url = start_app(app_env)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="Scenario results").wait_for(timeout=90_000)
        page.get_by_text("Confusion matrices (test split)").wait_for(timeout=90_000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").get_by_text("tfidf").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
        page.get_by_role("link", name="Data quality").click()
        page.get_by_text("3 listing(s) without a photo file").wait_for(timeout=60_000)
        assert "Traceback" not in page.content()
    finally:
        process.terminate()
        process.wait(timeout=20)
