"""One worker of a parallel report rebuild: ``python -m projections.report_worker``.

The run passes its job in ``ZORGKAS_REPORT_JOB`` (JSON) and the pseudonym key in
``ZORGKAS_REPORT_KEY`` (never on the command line, where ``ps`` would show it). The
worker evaluates its range of member ids and streams their rows to the run on its
standard output (``reporting.stream_part``), then exits; anything else it prints goes
to standard error, so nothing can corrupt the stream. It dies with the run
(``PR_SET_PDEATHSIG``, and it checks its parent once more at start in case the run died
before that was set).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime

from projections.reporting import Run, stream_part


def main() -> int:
    job = json.loads(os.environ["ZORGKAS_REPORT_JOB"])
    if os.getppid() != job["parent"]:
        return 1  # the run is gone already
    run = Run(
        as_of=date.fromisoformat(job["as_of"]),
        known_on=datetime.fromisoformat(job["known_on"]) if job["known_on"] else None,
        key=bytes.fromhex(os.environ["ZORGKAS_REPORT_KEY"]),
        with_insz=job["with_insz"],
        nightly=job["nightly"],
    )
    # The frames get the pipe; fd 1 (print, a stray warning) goes to standard error.
    out = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with out:
        stream_part(job["store"], (job["part"][0], job["part"][1]), run, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
