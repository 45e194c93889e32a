"""Worker processes that die with the process that started them.

The import's pipeline (``ledger/pipeline.py``) and a parallel rebuild
(``projections/reporting.py``) start worker processes; if the parent dies, however it
dies (even by SIGKILL), its workers must not live on holding a store connection or a
half-written file. Linux delivers a signal to a child whose parent ends
(``PR_SET_PDEATHSIG``); elsewhere the workers check their parent themselves.
"""

from __future__ import annotations

import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask for SIGKILL when the parent process ends (Linux; a no-op where unavailable).

    Called in the child: between fork and exec, or first thing in a forked worker."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
