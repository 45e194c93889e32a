"""The dashboard in a real browser: Debian's headless Chromium loads it from
``zorgkas serve-report`` on a generated reporting database, and every chart draws marks.

Skipped, saying why, when Chromium is not installed (``apt-get install -y chromium``).
Set ``ZORGKAS_SCREENSHOT=path.png`` to keep a screenshot of the dashboard.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from projections.datasette import DASHBOARD, charts
from tests.browser import chromium, needs_chromium
from tests.conftest import Clerk, make_insz

ROOT = Path(__file__).resolve().parent.parent
pytestmark = needs_chromium


def generated_store(clerk: Clerk, folder: Path, members: int, seed: int = 7) -> None:
    """Import ``members`` members of the benchmark's generated population into the clerk's store."""
    from bench.population import member_events
    from ledger.eventfile import to_line

    rng = random.Random(seed)
    lines = []
    for n in range(members):
        born = date(1945 + n % 60, 1 + n % 12, 1 + n % 28)
        insz = make_insz(born, 1 + n % 990)
        lines += [json.dumps(to_line(e)) + "\n" for e in member_events(rng, insz, born, 2019, 6)]
    events = folder / "events.jsonl"
    events.write_text("".join(lines))
    clerk("import", str(events))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(target: str, store: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``zorgkas serve-report TARGET`` on a free port, once it answers: (process, base URL);
    stopped (and waited for) on leaving."""
    port = _free_port()
    env = dict(os.environ, ZORGKAS_STORE=store)
    server = subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "serve-report", target, "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/-/versions.json").close()
                break
            except OSError:
                time.sleep(0.1)
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _chromium(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return chromium(url, "--window-size=1400,2000", "--virtual-time-budget=20000", *extra)


def test_every_dashboard_chart_renders_marks_in_chromium(
    sqlite_clerk: Clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZORGKAS_PSEUDONYM_KEY", "test-key")
    generated_store(sqlite_clerk, tmp_path, 300)
    target = str(tmp_path / "reporting.sqlite")
    sqlite_clerk("report", "--to", target, today="2024-06-01")
    with serving(target, sqlite_clerk.store) as (_server, base):
        url = f"{base}/-/dashboards/{DASHBOARD}"
        dom = _chromium(url, "--dump-dom").stdout
        shot = os.environ.get("ZORGKAS_SCREENSHOT")
        if shot:
            _chromium(url, f"--screenshot={shot}")
    assert "Arrears, fines, claims and collections" in dom
    for slug in charts("reporting"):
        start = dom.index(f'id="chart-{slug}"')
        following = [dom.find(f'id="chart-{other}"', start + 1) for other in charts("reporting")]
        end = min([i for i in following if i > start] or [len(dom)])
        section = dom[start:end]
        marks = re.findall(r'<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)</g>', section, re.S)
        drawn = [kind for kind, inner in marks if re.search(r'<path[^>]* d="M', inner)]
        assert drawn, f"chart {slug} drew no marks:\n{section[:2000]}"
        assert "role-axis-title" in section, f"chart {slug} has no axis titles"
