"""Writing a file a command produces (an export, a dossier): whole or not at all, 0600.

The data is written to a temporary file in the target folder and renamed onto the
target at the end, so a full disk or an interrupted command never leaves a truncated
file behind; the file is readable by its owner only (it holds personal data). An
existing file is replaced only with ``--force``, and never the event store itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from ledger.errors import BadInput


def _same_file(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        return a.exists() and b.exists() and os.path.samefile(a, b)
    return False


def check_target(target: str, *, force: bool, store_url: str | None = None, field: str = "FILE") -> Path:
    """Refuse (bad input) a target that exists without ``force``, or that is the store."""
    path = Path(target)
    if store_url and "://" not in store_url:
        store = Path(store_url)
        sidecars = [store, Path(f"{store}-wal"), Path(f"{store}-shm"), Path(f"{store}-journal")]
        if any(_same_file(path, s) or path.resolve() == s.resolve() for s in sidecars):
            raise BadInput(field, target, "is the event store itself: choose another file")
    if path.is_dir():
        raise BadInput(field, target, "is a folder: give a file name")
    if path.exists() and not force:
        raise BadInput(field, target, "already exists: add --force to replace it")
    if not path.parent.exists():
        raise BadInput(field, target, f"folder {path.parent} does not exist")
    return path


def write_atomically(path: Path, chunks: Iterable[str], field: str = "FILE") -> None:
    """Write ``chunks`` to a temporary file beside ``path`` (0600), then rename it onto ``path``."""
    try:
        import tempfile  # here: shutil, random and the compressors only for a command that writes a file

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise BadInput(field, str(path), f"cannot be written ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise BadInput(field, str(path), f"cannot be written ({exc.strerror})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
