"""The status page in a real headless Chromium (Debian's package, driven by Selenium).

The real `run` service reconciles two manifests against the sandbox; the browser opens the page,
takes a screenshot, filters with the form (no JavaScript involved: a GET round trip) and follows a
row to the detail view with the last plan. `.ci/run` installs chromium and chromium-driver; the
test is skipped, saying why, only where they are not installed.

To refresh the README's screenshot:

    STATUS_PAGE_SCREENSHOT=docs/status-page.png .venv/bin/python -m pytest tests/browser -q
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from tests.e2e.conftest import World, registry_manifest, world  # noqa: F401 (fixture)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        return (
            f"no browser: {CHROMIUM} or {CHROMEDRIVER} is missing "
            "(apt-get install chromium chromium-driver; .ci/run does it)"
        )
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,640",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def synced(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as response:
        endpoints = json.loads(response.read())["endpoints"]
    states = {e["name"]: e["sync"] for e in endpoints}
    return states == {"churn": "Synced", "fraud": "Failed"}


def commit_all(root: Path) -> str:
    """Make the manifest folder a git checkout, so the page shows a revision as in production."""
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "endpoints"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


def test_status_page_in_a_headless_browser(
    world: World,  # noqa: F811
    browser: Any,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    world.write("churn.yaml", registry_manifest(name="churn", version=1))
    world.write("team/fraud.yaml", registry_manifest(name="fraud", version=3))  # not Approved
    revision = commit_all(world.root)
    args = build_parser().parse_args(
        ["run", "-m", str(world.root), "--http-port", "0", "--requeue-interval", "0.2"]
    )
    runner = build_runner(args, _config(args))
    runner.start()
    try:
        eventually(lambda: synced(runner.http_port), "churn Synced and fraud Failed")
        base = f"http://127.0.0.1:{runner.http_port}"
        browser.get(f"{base}/")
        rows = browser.find_elements(By.CSS_SELECTOR, "#endpoints tbody tr[data-key]")
        assert sorted(r.get_attribute("data-key") for r in rows) == [
            "us-east-1/churn",
            "us-east-1/fraud",
        ]
        churn_row = browser.find_element(By.CSS_SELECTOR, 'tr[data-key="us-east-1/churn"]')
        # Target and region beside the name: no spec.target is the "default" target.
        cells = [c.text for c in churn_row.find_elements(By.TAG_NAME, "td")][:3]
        assert cells == ["churn", "default", "us-east-1"]
        churn = churn_row.text
        assert "Synced" in churn and "Healthy" in churn and "churn-xgb v1" in churn
        assert "weight 1" in churn and "churn.yaml" in churn and revision[:7] in churn
        fraud = browser.find_element(By.CSS_SELECTOR, 'tr[data-key="us-east-1/fraud"]').text
        assert "Failed" in fraud and "team/fraud.yaml" in fraud and "Approved" in fraud

        shot = tmp_path / "status-page.png"
        assert browser.save_screenshot(str(shot))
        data = shot.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
        if target := os.environ.get("STATUS_PAGE_SCREENSHOT"):
            Path(target).write_bytes(data)

        box = browser.find_element(By.ID, "q")
        box.clear()
        box.send_keys("failed")
        box.submit()
        eventually(lambda: "q=failed" in browser.current_url, "the filtered page")
        rows = browser.find_elements(By.CSS_SELECTOR, "#endpoints tbody tr[data-key]")
        assert [r.get_attribute("data-key") for r in rows] == ["us-east-1/fraud"]

        browser.get(f"{base}/")
        browser.find_element(By.LINK_TEXT, "churn").click()
        eventually(lambda: browser.current_url.endswith("/endpoints/us-east-1/churn"), "detail")
        assert browser.find_element(By.ID, "name").text == "churn"
        plan = browser.find_element(By.ID, "plan").text
        assert "churn" in plan and "No plan yet" not in plan
        ready = browser.find_element(By.CSS_SELECTOR, "#conditions tr:nth-child(2)").text
        assert ready.startswith("Ready True")
    finally:
        assert runner.stop(10)
