"""Debian's chromium driven by Playwright, and the folder its screenshots go to."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import IN_CI

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
# Playwright's own browser builds are never downloaded: the distribution's chromium runs.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    """The chromium binary; without one, fail in CI (.ci/run installs it) and skip elsewhere."""
    found = shutil.which("chromium")
    if found is None:
        message = "needs Debian's chromium (apt-get install -y chromium); .ci/run installs it"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    print(f"screenshot: {path}")
    return path
