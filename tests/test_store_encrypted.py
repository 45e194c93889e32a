"""The store tests again, with encryption at rest switched on (``ZORGKAS_CIPHER_KEY_FILE``).

The test functions are imported here so pytest runs them a second time under this
module's fixture, which configures an AES key: every event state is then stored
encrypted, and export, import, verify, checkpoints, scans and reports must not notice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledger.store import CIPHER_ENV
from tests.conftest import Clerk, make_insz
from tests.test_reporting import test_incremental_report_equals_a_rebuild  # noqa: F401
from tests.test_store import (  # noqa: F401
    test_a_bad_line_deep_in_a_large_file_is_named,
    test_a_line_repeated_in_an_event_file_is_refused_naming_it,
    test_export_then_import_into_an_empty_store_answers_the_same,
    test_import_is_all_or_nothing_and_names_the_line,
    test_verify_passes_on_an_untouched_store,
)
from tests.test_store_identity import test_an_in_memory_store_lives_for_one_process_and_lists_its_members  # noqa: F401
from tests.test_store_integrity import (  # noqa: F401
    MANIPULATIONS,
    Db,
    _legacy,
    _populate,
    deleted_and_reinserted,
    deleted_last_event,
    deleted_member,
    test_a_store_sealed_the_old_way_keeps_verifying_and_answering,
    test_events_recorded_after_a_checkpoint_still_verify,
)

A = make_insz(date(1990, 2, 2), 51)


@pytest.fixture(autouse=True)
def encrypted(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("cipher")
    Clerk(str(folder / "unused.sqlite"))("keygen", str(folder), "--cipher")
    key = folder / "cipher.key"
    assert key.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(CIPHER_ENV, str(key))
    yield key


def test_stored_states_are_encrypted_and_unreadable_without_the_key(
    sqlite_clerk: Clerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(sqlite_clerk)
    conn = sqlite3.connect(sqlite_clerk.store)
    states = [bytes(s) for (s,) in conn.execute("SELECT state FROM stored_events")]
    conn.close()
    assert states and not any(A.encode() in s or b"amount_cents" in s for s in states)
    assert sqlite_clerk.status(A, "--as-of", "2021-06-01")["insz"] == A
    monkeypatch.delenv(CIPHER_ENV)
    assert "the store is encrypted" in sqlite_clerk("status", A, expect=2).output


@pytest.mark.parametrize("manipulate", [deleted_last_event, deleted_member, deleted_and_reinserted],
                         ids=lambda f: f.__name__)  # fmt: skip
def test_a_checkpoint_of_an_encrypted_store_catches_removed_and_moved_rows(
    clerk: Clerk, tmp_path: Path, manipulate: object
) -> None:
    assert manipulate in MANIPULATIONS
    _populate(clerk)
    clerk("keygen", str(tmp_path / "k"))
    clerk("checkpoint", str(tmp_path / "c"), "--signing-key", str(tmp_path / "k" / "signing.key"))
    db = Db(clerk.store)
    manipulate(db)  # type: ignore[operator]
    db.close()
    proof = ("--checkpoint", str(tmp_path / "c"), "--public-key", str(tmp_path / "k" / "signing.pub"))
    assert "tampered:" in clerk("verify", *proof, expect=1).output


def test_reseal_encrypts_an_old_store_and_it_answers_the_same(tmp_path: Path) -> None:
    clerk = _legacy(tmp_path)
    before = clerk("history", "90020205147", "--json").output
    assert "re-sealed 6 events" in clerk("reseal").output
    assert clerk("history", "90020205147", "--json").output == before
    assert "intact" in clerk("verify").output
    conn = sqlite3.connect(clerk.store)
    assert not any(b"90020205147" in bytes(s) for (s,) in conn.execute("SELECT state FROM stored_events"))
    conn.close()


def test_member_stream_ids_of_an_encrypted_store_do_not_reveal_the_insz(sqlite_clerk: Clerk) -> None:
    import uuid

    from ledger import identity

    _populate(sqlite_clerk)
    conn = sqlite3.connect(sqlite_clerk.store)
    ids = {uuid.UUID(oid) for (oid,) in conn.execute("SELECT DISTINCT originator_id FROM stored_events")}
    conn.close()
    plain = {uuid.uuid5(identity._NAMESPACE, insz) for insz in (A, make_insz(date(1991, 3, 3), 53))}
    assert len(ids) == 2 and not ids & plain
    assert sqlite_clerk.status(A, "--as-of", "2021-06-01")["insz"] == A
