"""Tamper evidence an auditor can trust: the keyed seal, signed checkpoints, old stores.

Each manipulation below is what someone with write access to the database could do;
``verify --checkpoint`` must catch every one of them on SQLite and PostgreSQL, with or
without the seal key in the forger's hands.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest

from ledger import events as ev
from ledger import seal
from ledger.identity import member_id
from tests.conftest import Clerk, make_insz

A = make_insz(date(1990, 2, 2), 51)
B = make_insz(date(1991, 3, 3), 53)
C = make_insz(date(1992, 4, 4), 55)
DATA = Path(__file__).parent / "data"


class Db:
    """Raw access to the store's table, as a forger has it (SQLite or PostgreSQL)."""

    def __init__(self, store: str) -> None:
        self.pg = store.startswith("postgresql:")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(store, autocommit=True)
            self.table, self.pos = "zorgkas_events", "notification_id"
        else:
            self.conn = sqlite3.connect(store, isolation_level=None)
            self.table, self.pos = "stored_events", "rowid"

    def sql(self, text: str, *params: Any) -> list[Any]:
        text = text.replace("{t}", self.table).replace("{pos}", self.pos)
        if self.pg:
            text = text.replace("?", "%s")
        cur = self.conn.execute(text, [self._oid(p) for p in params])
        return list(cur.fetchall()) if cur.description else []

    def _oid(self, p: Any) -> Any:
        return (p if self.pg else p.hex) if isinstance(p, UUID) else p

    def member(self, oid: UUID) -> list[tuple[int, str, bytes]]:
        rows = self.sql(
            "SELECT originator_version, topic, state FROM {t} WHERE originator_id=? ORDER BY 1", oid
        )
        return [(v, t, bytes(s)) for v, t, s in rows]

    def put(self, oid: UUID, version: int, state: bytes) -> None:
        self.sql("UPDATE {t} SET state=? WHERE originator_id=? AND originator_version=?", state, oid, version)

    def insert(self, oid: UUID, version: int, topic: str, state: bytes) -> None:
        self.sql(
            "INSERT INTO {t} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
            oid, version, topic, state,
        )  # fmt: skip

    def relink(self, oid: UUID, key: bytes | None) -> None:
        """Recompute a member's chain: keyed with the seal key, or the old unkeyed way."""
        previous = ""
        for version, topic, state in self.member(oid):
            unsealed, _ = seal.split(state)
            previous = (
                seal.link(key, previous, topic, oid, version, unsealed)
                if key
                else seal.legacy_link(previous, unsealed)
            )
            self.put(oid, version, seal.sealed(unsealed, previous))

    def close(self) -> None:
        self.conn.close()


def _edit(state: bytes, **changes: Any) -> bytes:
    raw = msgspec.json.decode(state)
    raw.update(changes)
    return msgspec.json.encode(raw)


def _populate(clerk: Clerk) -> None:
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01", "--resident-since", "1990-02-02")
    clerk("affiliate", A, "--fund", "CM", "--on", "2020-01-02")
    clerk("pay", A, "--amount", "53", "--on", "2020-02-01", "--bank-ref", "R1")
    clerk("pay", A, "--amount", "54", "--on", "2021-02-01", "--bank-ref", "R2")
    clerk.register(B, "1991-03-03", "brussels", "NZV", "2021-01-01")
    clerk("pay", B, "--amount", "54", "--on", "2021-03-01", "--bank-ref", "R3")


def _key() -> bytes:
    key = seal.load_key(create=False)
    assert key is not None
    return key


# -- the manipulations ------------------------------------------------------------------
def edited_payment_relinked_with_the_key(db: Db) -> None:
    oid = member_id(A)
    version, _t, state = db.member(oid)[2]
    db.put(oid, version, _edit(state, amount_cents=1))
    db.relink(oid, _key())


def edited_payment_relinked_without_the_key(db: Db) -> None:
    oid = member_id(A)
    version, _t, state = db.member(oid)[2]
    db.put(oid, version, _edit(state, amount_cents=1))
    db.relink(oid, None)


def deleted_last_event(db: Db) -> None:
    db.sql("DELETE FROM {t} WHERE originator_id=? AND originator_version=4", member_id(A))


def deleted_member(db: Db) -> None:
    db.sql("DELETE FROM {t} WHERE originator_id=?", member_id(B))


def renumbered_member(db: Db) -> None:
    old, new = member_id(B), member_id(C)
    for version, topic, state in db.member(old):
        db.insert(new, version, topic, _edit(state, insz=C, originator_id=str(new)))
    db.sql("DELETE FROM {t} WHERE originator_id=?", old)
    db.relink(new, _key())


def invented_member_with_a_valid_chain(db: Db) -> None:
    oid = member_id(C)
    for version, topic, state in db.member(member_id(B)):
        forged = _edit(
            state,
            insz=C,
            originator_id=str(oid),
            id=str(UUID(int=version)),
            recorded_at="2021-01-01T09:00:00",
        )
        db.insert(oid, version, topic, forged)
    db.relink(oid, _key())


def backdated_with_another_clerk(db: Db) -> None:
    oid = member_id(A)
    version, _t, state = db.member(oid)[3]
    db.put(oid, version, _edit(state, recorded_at="2020-01-01T00:00:00", clerk="someone.else"))
    db.relink(oid, _key())


def changed_topic_version(db: Db) -> None:
    db.sql(
        "UPDATE {t} SET topic='PremiumPaid@1' WHERE originator_id=? AND originator_version=3", member_id(A)
    )
    db.relink(member_id(A), _key())


def old_event_reinserted_as_a_new_version(db: Db) -> None:
    oid = member_id(A)
    _v, topic, state = db.member(oid)[2]
    db.insert(oid, 5, topic, _edit(state, originator_version=5))
    db.relink(oid, _key())


def swapped_events(db: Db) -> None:
    oid = member_id(A)
    (v3, _t3, s3), (v4, _t4, s4) = db.member(oid)[2:4]
    db.put(oid, v3, _edit(s4, originator_version=v3))
    db.put(oid, v4, _edit(s3, originator_version=v4))
    db.relink(oid, _key())


def deleted_and_reinserted(db: Db) -> None:
    oid = member_id(A)
    version, topic, state = db.member(oid)[1]
    db.sql("DELETE FROM {t} WHERE originator_id=? AND originator_version=?", oid, version)
    db.insert(oid, version, topic, state)


MANIPULATIONS: list[Callable[[Db], None]] = [
    edited_payment_relinked_with_the_key,
    edited_payment_relinked_without_the_key,
    deleted_last_event,
    deleted_member,
    renumbered_member,
    invented_member_with_a_valid_chain,
    backdated_with_another_clerk,
    changed_topic_version,
    old_event_reinserted_as_a_new_version,
    swapped_events,
    deleted_and_reinserted,
]


@pytest.mark.parametrize("manipulate", MANIPULATIONS, ids=lambda f: f.__name__)
def test_verify_with_a_checkpoint_catches_every_manipulation(
    clerk: Clerk, tmp_path: Path, manipulate: Callable[[Db], None]
) -> None:
    _populate(clerk)
    clerk("keygen", str(tmp_path / "auditor"))
    checkpoint = str(tmp_path / "head.checkpoint")
    clerk("checkpoint", checkpoint, "--signing-key", str(tmp_path / "auditor" / "signing.key"))
    proof = ("--checkpoint", checkpoint, "--public-key", str(tmp_path / "auditor" / "signing.pub"))
    assert "unchanged" in clerk("verify", *proof).output
    db = Db(clerk.store)
    try:
        manipulate(db)
    finally:
        db.close()
    result = clerk("verify", *proof, expect=1)
    assert "tampered:" in result.output


def test_a_forger_with_the_seal_key_passes_plain_verify_but_not_the_checkpoint(
    sqlite_clerk: Clerk, tmp_path: Path
) -> None:
    _populate(sqlite_clerk)
    sqlite_clerk("keygen", str(tmp_path / "k"))
    sqlite_clerk("checkpoint", str(tmp_path / "c"), "--signing-key", str(tmp_path / "k" / "signing.key"))
    db = Db(sqlite_clerk.store)
    edited_payment_relinked_with_the_key(db)
    db.close()
    assert "intact" in sqlite_clerk("verify").output  # the seal alone cannot tell
    result = sqlite_clerk(
        "verify",
        "--checkpoint",
        str(tmp_path / "c"),
        "--public-key",
        str(tmp_path / "k" / "signing.pub"),
        expect=1,
    )
    assert "recorded before the checkpoint" in result.output


def test_without_the_seal_key_an_edit_fails_plain_verify(sqlite_clerk: Clerk) -> None:
    _populate(sqlite_clerk)
    db = Db(sqlite_clerk.store)
    edited_payment_relinked_without_the_key(db)
    db.close()
    assert "unkeyed link in a sealed store" in sqlite_clerk("verify", expect=1).output


def test_events_recorded_after_a_checkpoint_still_verify(clerk: Clerk, tmp_path: Path) -> None:
    _populate(clerk)
    clerk("keygen", str(tmp_path / "k"))
    clerk("checkpoint", str(tmp_path / "c"), "--signing-key", str(tmp_path / "k" / "signing.key"))
    clerk("pay", B, "--amount", "10", "--on", "2022-03-01", "--bank-ref", "R9")
    clerk.register(C, "1992-04-04", "flanders", "CM", "2022-01-01")
    result = clerk(
        "verify", "--checkpoint", str(tmp_path / "c"), "--public-key", str(tmp_path / "k" / "signing.pub")
    )
    assert "events of 2 members recorded before it are unchanged" in result.output


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(sqlite_clerk: Clerk, tmp_path: Path) -> None:
    _populate(sqlite_clerk)
    sqlite_clerk("keygen", str(tmp_path / "k"))
    sqlite_clerk("keygen", str(tmp_path / "other"))
    path = tmp_path / "c"
    sqlite_clerk("checkpoint", str(path), "--signing-key", str(tmp_path / "k" / "signing.key"))
    wrong = sqlite_clerk(
        "verify", "--checkpoint", str(path), "--public-key", str(tmp_path / "other" / "signing.pub"), expect=1
    )
    assert "not signed by" in wrong.output
    document = json.loads(path.read_text())
    document["events"] = 5
    path.write_text(json.dumps(document))
    edited = sqlite_clerk(
        "verify", "--checkpoint", str(path), "--public-key", str(tmp_path / "k" / "signing.pub"), expect=1
    )
    assert "not signed by" in edited.output


@pytest.mark.parametrize("empty", [("", ""), ("", "PUB"), ("CP", " ")])
def test_an_empty_checkpoint_or_public_key_is_bad_input_not_a_verify_without_the_proof(
    sqlite_clerk: Clerk, tmp_path: Path, empty: tuple[str, str]
) -> None:
    # `verify --checkpoint "$CP" --public-key "$PUB"` with a variable unset printed "verified" (exit 0).
    _populate(sqlite_clerk)
    sqlite_clerk("keygen", str(tmp_path / "k"))
    sqlite_clerk("checkpoint", str(tmp_path / "c"), "--signing-key", str(tmp_path / "k" / "signing.key"))
    named = {"CP": str(tmp_path / "c"), "PUB": str(tmp_path / "k" / "signing.pub")}
    cp, pub = (named.get(v, v) for v in empty)
    out = sqlite_clerk("verify", "--checkpoint", cp, "--public-key", pub, expect=2).output
    assert "is empty" in out and "verified" not in out


def test_keygen_makes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path) -> None:
    clerk = Clerk(str(tmp_path / "s.sqlite"))
    clerk("keygen", str(tmp_path / "k"))
    assert (tmp_path / "k" / "signing.key").stat().st_mode & 0o777 == 0o600
    assert "BEGIN PUBLIC KEY" in (tmp_path / "k" / "signing.pub").read_text()
    assert "already holds" in clerk("keygen", str(tmp_path / "k"), expect=2).output


@pytest.mark.parametrize("cipher", [[], ["--cipher"]])
def test_keygen_into_an_empty_folder_name_is_bad_input_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cipher: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # where an unset `$DIR` would have put the keys
    out = Clerk(str(tmp_path / "s.sqlite"))("keygen", "", *cipher, expect=2).output
    assert "DIR" in out and "is empty" in out
    assert list(tmp_path.iterdir()) == []


def test_the_seal_key_is_made_owner_only_on_first_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(seal.KEY_ENV, str(tmp_path / "keys" / "seal.key"))
    clerk = Clerk(str(tmp_path / "s.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    assert (tmp_path / "keys" / "seal.key").stat().st_mode & 0o777 == 0o600
    assert "intact" in clerk("verify").output
    monkeypatch.setenv(seal.KEY_ENV, str(tmp_path / "elsewhere.key"))  # the key is not here
    assert "no seal key here" in clerk("verify", expect=2).output


# -- stores sealed the old way ----------------------------------------------------------
def _legacy(tmp_path: Path) -> Clerk:
    shutil.copy(DATA / "legacy_store.sqlite", tmp_path / "legacy.sqlite")
    return Clerk(str(tmp_path / "legacy.sqlite"))


def test_a_store_sealed_the_old_way_keeps_verifying_and_answering(tmp_path: Path) -> None:
    clerk = _legacy(tmp_path)
    result = clerk("verify")
    assert "verified 6 events: every hash chain intact" in result.output
    assert "sealed the old way" in result.output
    history = json.loads(clerk("history", "90020205147", "--json").output)
    answered_then = json.loads((DATA / "legacy_store_history_A.json").read_text())
    for event in answered_then:
        if event["type"] == "PremiumInvited":  # R-PREM-9: an old invitation now reads as a claim
            event.update(source=ev.V1_SOURCE, confirmed=True, direct_debit=False)
    assert history == answered_then


def test_an_edit_of_a_store_sealed_the_old_way_is_still_caught(tmp_path: Path) -> None:
    clerk = _legacy(tmp_path)
    db = Db(clerk.store)
    oid = member_id("90020205147")
    version, _t, state = db.member(oid)[2]
    db.put(oid, version, _edit(state, amount_cents=1))
    db.close()
    assert "hash chain" in clerk("verify", expect=1).output


def test_reseal_seals_an_old_store_with_the_key_and_then_refuses_unkeyed_links(tmp_path: Path) -> None:
    clerk = _legacy(tmp_path)
    clerk(
        "pay", "90020205147", "--amount", "5", "--on", "2024-06-01", "--bank-ref", "L2"
    )  # a keyed link after old ones
    assert "re-sealed 7 events" in clerk("reseal").output
    result = clerk("verify")
    assert "intact" in result.output and "old way" not in result.output
    db = Db(clerk.store)
    edited_relinked = db.member(member_id("90020205147"))
    version, _t, state = edited_relinked[2]
    db.put(member_id("90020205147"), version, _edit(state, amount_cents=1))
    db.relink(member_id("90020205147"), None)  # a forger without the key
    db.close()
    assert "unkeyed link" in clerk("verify", expect=1).output


def test_a_tampered_old_store_is_not_resealed(tmp_path: Path) -> None:
    clerk = _legacy(tmp_path)
    db = Db(clerk.store)
    version, _t, state = db.member(member_id("90020205147"))[1]
    db.put(member_id("90020205147"), version, _edit(state, fund="VZK"))
    db.close()
    assert "tampered, not re-sealed" in clerk("reseal", expect=2).output


# -- the store is chosen by --store alone -----------------------------------------------
def test_the_librarys_environment_cannot_redirect_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "ZORGKAS_SQLITE_DBNAME": str(tmp_path / "other.sqlite"),
        "SQLITE_DBNAME": str(tmp_path / "other2.sqlite"),
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "ZORGKAS_PERSISTENCE_MODULE": "eventsourcing.popo",
        "CIPHER_TOPIC": "no.such:Cipher",
    }.items():
        monkeypatch.setenv(name, value)
    clerk = Clerk(str(tmp_path / "a.sqlite"))
    clerk.register(A, "1990-02-02", "flanders", "CM", "2020-01-01")
    assert not (tmp_path / "other.sqlite").exists() and not (tmp_path / "other2.sqlite").exists()
    assert "exported 1 event " in clerk("export", str(tmp_path / "out.jsonl")).output


def test_an_export_written_by_the_previous_version_imports_and_seals(tmp_path: Path) -> None:
    clerk = Clerk(str(tmp_path / "new.sqlite"))
    assert (
        "imported 6 events for 2 members" in clerk("import", str(DATA / "legacy_store_export.jsonl")).output
    )
    result = clerk("verify")
    assert "verified 6 events: every hash chain intact" in result.output and "old way" not in result.output
    history = json.loads(clerk("history", "90020205147", "--json").output)
    before = json.loads((DATA / "legacy_store_history_A.json").read_text())
    assert [(e["type"], e["id"]) for e in history] == [(e["type"], e["id"]) for e in before]
