"""One measured stage of the benchmark: a whole process, timed and metered from outside.

    python -m bench.stage STAGE STORE [ARGS…]

Every stage (the raw baselines of ``bench/raw.py`` and the zorgkas commands alike) is a
separate process started here; its wall time is taken around the process (starting
Python and reading the file included), its CPU seconds (user + system) and peak memory
come from ``os.wait4``, which covers the process and every worker it waited for. So a
rebuild on two cores is charged both cores' CPU, and a ratio per core compares CPU
seconds with CPU seconds. Prints one JSON object: seconds, cpu_seconds, peak_rss_mb and
the command's own JSON or summary line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, 0)


def environment() -> dict[str, str]:
    """The fixed clock and keys of every measured process."""
    env = dict(os.environ)
    env["ZORGKAS_TODAY"] = TODAY.isoformat()
    env["ZORGKAS_NOW"] = NOW.isoformat()
    env.setdefault("ZORGKAS_PSEUDONYM_KEY", "bench")
    env.setdefault("ZORGKAS_CLERK", "bench")
    return env


def cli(store: str, *argv: str) -> list[str]:
    return [sys.executable, "-m", "commands.cli", "--store", store, *argv]


def command(stage: str, store: str, args: list[str]) -> list[str]:
    """The command line of a stage."""
    if stage == "raw-insert":  # args: FILE, then --pragma P …
        return [sys.executable, "-m", "bench.raw", "insert", store, *args]
    if stage == "raw-scan":
        return [sys.executable, "-m", "bench.raw", "scan", store]
    if stage == "raw-write":  # store: the rebuilt reporting file; args: DB, then --pragma P …
        return [sys.executable, "-m", "bench.raw", "write", store, *args]
    if stage == "import":
        return cli(store, "import", args[0])
    if stage == "rebuild":  # args: TARGET [--workers N]
        return cli(store, "report", "--to", args[0], "--rebuild", *args[1:])
    return cli(store, "run", stage, "--year", *args)


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` as a child process; its wall seconds, CPU seconds, peak RSS, output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or environment(), stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:])} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    try:
        output: Any = json.loads(last)
    except ValueError:
        output = last
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "output": output,
        "stderr": stderr,
    }


def observed_pragmas(sample: Path) -> dict[str, Any]:
    """The PRAGMAs ``zorgkas import`` sets on the connection that writes the events.

    Imports a small sample into a scratch store in a child process whose every
    ``sqlite3`` connection traces its statements; returns the PRAGMA statements that set
    a value on the writing connection, and the effective values it ended with.
    """
    with tempfile.TemporaryDirectory(prefix="zorgkas-pragmas-") as tmp:
        out = measure(
            [sys.executable, "-m", "bench.stage", "observe-pragmas", str(Path(tmp) / "s.sqlite"), str(sample)]
        )
    return out["output"]  # type: ignore[no-any-return]


def _observe_pragmas(store: str, sample: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    real_connect = sqlite3.connect

    class Traced(sqlite3.Connection):
        def close(self) -> None:
            if self.record["wrote"]:
                self.record["effective"] = {
                    name: self.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("journal_mode", "cache_size", "synchronous")
                }
            super().close()

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", Traced)
        conn = real_connect(*args, **kwargs)
        record: dict[str, Any] = {"pragmas": [], "wrote": False, "effective": None}
        seen.append(record)
        conn.record = record  # type: ignore[attr-defined]

        def trace(sql: str) -> None:
            text = sql.strip().rstrip(";")
            head = text[:12].upper()
            if head.startswith("PRAGMA") and "=" in text:
                record["pragmas"].append(text[len("PRAGMA") :].strip())
            elif head.startswith("INSERT"):
                record["wrote"] = True

        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]
    os.environ.update(environment())
    from commands.cli import cli as zorgkas

    try:
        zorgkas.main(["--store", store, "import", sample], standalone_mode=False)
    finally:
        sqlite3.connect = real_connect  # type: ignore[assignment]
    writers = [r for r in seen if r["wrote"]]
    if not writers:
        raise SystemExit("observe-pragmas: no connection wrote the events")
    pragmas: list[str] = []
    for record in writers:
        pragmas += [p for p in record["pragmas"] if p not in pragmas]
    return {"pragmas": pragmas, "effective": writers[-1]["effective"]}


def main() -> None:
    stage, store, *args = sys.argv[1:]
    if stage == "observe-pragmas":
        print(json.dumps(_observe_pragmas(store, args[0])))
        return
    result = measure(command(stage, store, args))
    result.pop("stderr")
    print(json.dumps({"stage": stage, **result}))


if __name__ == "__main__":
    main()
