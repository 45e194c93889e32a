"""Debian's headless Chromium for the tests that look at a page as a person would.

One place for how Chromium is found and started (flags that keep it off the network,
a fresh profile each time), shared by the dossier and the dashboard tests; both skip,
saying why, when it is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium): no real-browser check"
)


def chromium(url: str, *extra: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once on ``url`` (``--dump-dom``, ``--screenshot=…``) in a new profile."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="zorgkas-chromium-") as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=timeout, check=True,
        )  # fmt: skip
