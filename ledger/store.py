"""The event store: eventsourcing's recorders (SQLite embedded, PostgreSQL at scale).

- ``EventMapper`` stores our msgspec events as they are (topic ``Name@version``),
  decodes them typed, and upcasts older versions (``ledger.events.upcast``).
- Each member's events form a sealed chain (``ledger/seal.py``): every event's link is an
  HMAC under a key kept outside the database over the previous link and the exact stored
  bytes, so ``verify`` shows any edit that was not made with the key.
- Every statement against the database lives in the recorders (``ledger/recorders.py``);
  the store is chosen by its URL alone, never by the library's environment lookup.
- ``Ledger.change`` loads a member, lets a command decide, and appends with the
  store's optimistic concurrency (unique member id + version); a conflict is retried
  on the fresh history so the rules are checked again.
"""

from __future__ import annotations

import hmac
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import Environment

from ledger import events as ev
from ledger import seal
from ledger.errors import BadInput, ConcurrentChange, LedgerError, StoreUnavailable
from ledger.identity import member_id, use_stream_key
from ledger.member import Member
from ledger.recorders import BUSY_WAIT, SCHEMA, Order, Row, SQLiteEventRecorder, quote

DEFAULT_STORE = "./zorgkas.sqlite"
_decoders = {cls.__name__: msgspec.json.Decoder(cls) for cls in ev.EVENT_TYPES}


class _NoTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never used
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never used
        raise NotImplementedError


def decode_stored(topic: str, state: bytes | memoryview) -> ev.Event:
    decode = _by_topic.get(topic)
    if decode is None:
        decode = _by_topic[topic] = _decoder_for(topic)
    return decode(bytes(state))


def _decoder_for(topic: str) -> Callable[[bytes], ev.Event]:
    """How to read one stored topic (``Name@version``), worked out once per topic: a
    rebuild decodes every stored event, and a store holds only a few dozen topics."""
    name, _, version = topic.partition("@")
    cls = ev.BY_NAME.get(name)
    number = int(version) if version.isdigit() else (1 if not version else 0)
    if cls is None or not 1 <= number <= cls.VERSION:
        raise NewerVersion(topic)
    if number == cls.VERSION:
        return _decoders[name].decode  # type: ignore[no-any-return]

    def upcast(data: bytes) -> ev.Event:
        return ev.convert(ev.upcast(name, number, msgspec.json.decode(data)))

    return upcast


_by_topic: dict[str, Callable[[bytes], ev.Event]] = {}


class NewerVersion(BadInput):
    """A stored event this version cannot read: written by a newer zorgkas."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            "store",
            topic,
            "an event written by a newer version of zorgkas; this version cannot answer for it",
        )

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (NewerVersion, (self.value,))


# -- encryption at rest ------------------------------------------------------------------
CIPHER_ENV = "ZORGKAS_CIPHER_KEY_FILE"
_ENCRYPTED = b"\x00E1"  # a JSON state never starts with NUL


class StateCipher:
    """AES-GCM (the library's ``AESCipher``) over stored states, when a key is configured.

    An encrypted state is marked, so a store may hold both (events written before the
    key was configured stay readable); without the key an encrypted state is refused.
    """

    def __init__(self) -> None:
        path = os.environ.get(CIPHER_ENV)
        self.cipher: Any = None
        self.key = b""
        if path:
            from eventsourcing.cryptography import AESCipher
            from eventsourcing.utils import Environment

            try:
                key = open(path, encoding="ascii").read().strip()  # noqa: SIM115
                self.cipher = AESCipher(Environment(env={"CIPHER_KEY": key}))
                self.key = key.encode()
            except (OSError, ValueError, UnicodeError) as exc:
                raise BadInput(CIPHER_ENV, path, f"not a readable AES key file ({exc})") from None

    def stream_key(self) -> bytes | None:
        """The key of keyed member stream ids, derived from the cipher key (kept outside)."""
        if self.cipher is None:
            return None
        return hmac.new(self.key, b"zorgkas member stream ids", "sha256").digest()

    def to_stored(self, state: bytes) -> bytes:
        return _ENCRYPTED + self.cipher.encrypt(state) if self.cipher else state

    def from_stored(self, state: bytes) -> bytes:
        if not state.startswith(_ENCRYPTED):
            return state
        if self.cipher is None:
            raise BadInput(CIPHER_ENV, None, "the store is encrypted: configure its key file")
        try:
            return bytes(self.cipher.decrypt(state[len(_ENCRYPTED) :]))
        except Exception:
            raise BadInput(CIPHER_ENV, None, "this key does not decrypt the store") from None


def new_cipher_key() -> str:
    from eventsourcing.cryptography import AESCipher

    return AESCipher.create_key(32)


class EventMapper(Mapper[UUID]):
    """Stored rows -> typed msgspec events (decrypted, upcast). Writing goes through
    ``Ledger.append_many``, which seals the exact bytes it stores."""

    def __init__(self, cipher: StateCipher) -> None:
        super().__init__(transcoder=_NoTranscoder())
        self.state_cipher = cipher

    def to_stored_event(self, domain_event: Any) -> StoredEvent:  # pragma: no cover - never used
        raise NotImplementedError("events are stored by Ledger.append_many")

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return decode_stored(stored_event.topic, self.state_cipher.from_stored(bytes(stored_event.state)))


# -- opening a store ---------------------------------------------------------------------
def redact(url: str) -> str:
    """The store URL without its password (in the URL or as ``password=``), for messages."""
    if not url.startswith(("postgresql:", "postgres:")):
        return url
    from urllib.parse import urlsplit, urlunsplit  # here: it brings ipaddress (~2 ms of every command)

    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    netloc = parts.netloc
    if "@" in netloc:
        who, _, where = netloc.rpartition("@")
        netloc = f"{who.partition(':')[0]}{':***' if ':' in who else ''}@{where}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _no_secret(text: str, params: dict[str, Any]) -> str:
    password = str(params.get("password") or "")
    return text.replace(password, "***") if password else text


@dataclass
class Opened:
    """How a store URL is opened: the recorder's settings and what the store allows."""

    env: dict[str, str]
    recorder_class: type
    read_only: bool = False
    create: bool = False  # let the recorder create its table(s)
    newer: int = 0  # the schema of a store written by a newer version
    keyed_ids: bool = False  # a new store: keyed member stream ids
    pg_params: dict[str, Any] | None = None


def _open_sqlite(path: str, create: bool, keyed_ids: bool) -> Opened:
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_LOCK_TIMEOUT": str(BUSY_WAIT),
        "CREATE_TABLE": "n",
    }
    if path == ":memory:":  # one store for this process, shared by its connections
        env["SQLITE_DBNAME"] = f"file:zorgkas-{uuid4().hex}?mode=memory&cache=shared"
        env["CREATE_TABLE"] = "y"
        return Opened(env, SQLiteEventRecorder, create=True, keyed_ids=keyed_ids)
    if "\x00" in path or not path.strip():
        raise BadInput("--store", path, "not a file path")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise BadInput("--store", path, f"cannot be opened ({exc.strerror})") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise BadInput("--store", path, "is a folder, not a store file")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise BadInput("--store", path, "is not a regular file (a device, a pipe …), not a store file")
    if info is None or info.st_size == 0:
        if not create:
            raise BadInput(
                "--store", path, "no store at this path; `zorgkas init` or a writing command creates one"
            )
        SQLiteEventRecorder.create_file(path, keyed_ids)
    schema, read_only, _keyed = SQLiteEventRecorder.inspect_file(path)
    uri = "file:" + quote(os.path.abspath(path))
    newer = schema if schema > SCHEMA else 0
    if read_only:
        uri += "?immutable=1"  # read-only media: no -wal/-shm can be made beside it
    elif newer:
        uri += "?mode=ro"
    env["SQLITE_DBNAME"] = uri
    return Opened(env, SQLiteEventRecorder, read_only=read_only or bool(newer), newer=newer)


def _open_postgres(url: str, keyed_ids: bool) -> Opened:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from ledger.recorders_postgres import PostgresEventRecorder  # psycopg only for PostgreSQL

    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except psycopg.Error:
        raise BadInput("--store", redact(url), "not a PostgreSQL URL") from None
    if not params.get("dbname"):
        raise BadInput("--store", redact(url), "names no database (postgresql://host/DATABASE)")
    for port in str(params.get("port") or "5432").split(","):
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise BadInput("--store", redact(url), f"port {port!r} is not a port number (1-65535)")
    timeout = str(params.get("connect_timeout") or CONNECT_TIMEOUT)
    if not timeout.isascii() or not timeout.isdigit():
        raise BadInput("--store", redact(url), f"connect_timeout {timeout!r} is not a number of seconds")
    params["connect_timeout"] = max(1, min(int(timeout), CONNECT_TIMEOUT))
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    where = f"{host} port {params.get('port') or 5432}"
    cause = PostgresEventRecorder.probe(params)  # fail fast, naming the server and the cause
    if cause is not None:
        raise StoreUnavailable(
            f"cannot reach the PostgreSQL store {redact(url)} at {where}: {_no_secret(cause, params)}"
        )
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params["dbname"]),
        "POSTGRES_HOST": str(host),
        "POSTGRES_PORT": str(params.get("port") or 5432),
        "POSTGRES_USER": str(params.get("user") or ""),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "POSTGRES_LOCK_TIMEOUT": str(BUSY_WAIT),
        # One connection kept open per process (a command works on one thing at a time);
        # more only while needed, so many clerks and workers stay within the server's limit.
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "4",
        "CREATE_TABLE": "y",
    }
    return Opened(env, PostgresEventRecorder, create=True, pg_params=params, keyed_ids=keyed_ids)


CONNECT_TIMEOUT = 5


class LedgerApp(Application[UUID]):
    """The eventsourcing application behind the ledger (one per store).

    Configured only by the store URL: the library's environment lookup (``ZORGKAS_*``,
    ``PERSISTENCE_MODULE``, ``SQLITE_DBNAME``, ``POSTGRES_*`` …) is not consulted.
    """

    name = "zorgkas"
    opened: Opened
    state_cipher: StateCipher

    def __init__(self, opened: Opened, cipher: StateCipher) -> None:
        self.opened, self.state_cipher = opened, cipher
        super().__init__(env=opened.env)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_factory(self, env: Environment) -> Any:
        factory: Any = super().construct_factory(env)
        if self.opened.pg_params is not None:
            from psycopg.rows import dict_row

            # Every libpq option of the URL (sslmode, host= socket folders, password=, …).
            factory.datastore.pool.kwargs = {**self.opened.pg_params, "row_factory": dict_row}
        return factory

    def construct_recorder(self) -> Any:
        cls = self.opened.recorder_class
        is_pg = self.opened.pg_params is not None
        table = f"{self.name}_events" if is_pg else "stored_events"
        recorder = cls(datastore=self.factory.datastore, events_table_name=table)  # type: ignore[attr-defined]
        recorder.read_only = self.opened.read_only
        recorder.keyed_ids = self.opened.keyed_ids
        if self.opened.create:
            recorder.create_table()
        return recorder

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper(self.state_cipher)


@dataclass(frozen=True)
class Problem:
    """What ``verify`` found: tampering (exit 1) or a note (the store is sound)."""

    text: str
    tampered: bool = True


class Ledger:
    """The store a command line works on: load members, append events, scan, verify.

    ``create``: whether this command may create a store that does not exist yet (only
    writing commands do; a question about a path with no store is bad input).
    """

    def __init__(self, url: str = DEFAULT_STORE, create: bool = True) -> None:
        self.url = url
        self.label = redact(url)
        self.is_postgres = url.startswith(("postgresql:", "postgres:"))
        self.cipher = StateCipher()
        keyed = self.cipher.cipher is not None  # a new store made encrypted gets keyed ids
        opened = _open_postgres(url, keyed) if self.is_postgres else _open_sqlite(url, create, keyed)
        for attempt in range(5):
            try:
                self.app = LedgerApp(opened, self.cipher)
                break
            except LedgerError:
                raise
            except Exception as exc:
                # Clerks opening a new PostgreSQL store at once race to create its table.
                if attempt == 4 or not self.is_postgres:
                    cause = _no_secret(str(exc), opened.pg_params or {})
                    reason = f"cannot open the event store ({type(exc).__name__}: {cause})"
                    raise BadInput("--store", self.label, reason) from None
                time.sleep(0.2 * (attempt + 1))
        self.recorder: Any = self.app.recorder
        self.recorder.label = self.label
        self.read_only = opened.read_only
        self.newer = opened.newer
        if not self.newer and self.is_postgres:
            schema = self.recorder.schema()
            if schema > SCHEMA:
                self.newer, self.read_only = schema, True
                self.recorder.read_only = True
        if self.recorder.has_keyed_ids():
            if self.cipher.cipher is None:
                raise BadInput(
                    CIPHER_ENV, None, "the store is encrypted (keyed member ids): configure its key file"
                )
            use_stream_key(self.cipher.stream_key())
        else:
            use_stream_key(None)
        if self.newer:
            print(
                f"note: the store {self.label} was written by a newer version (schema {self.newer}, "
                f"this version knows {SCHEMA}): opened read-only",
                file=sys.stderr,
            )
        self._key: bytes | None = None
        self.unchecked = 0  # keyed links the last verify could not check (no seal key)

    def close(self) -> None:
        self.app.close()

    def _seal_key(self) -> bytes:
        if self.read_only:
            why = f"written by a newer version (schema {self.newer})" if self.newer else "read-only here"
            raise BadInput("--store", self.label, f"the store is {why}; nothing written")
        if self._key is None:
            self._key = seal.load_key(create=True)
        assert self._key is not None
        return self._key

    # -- members ---------------------------------------------------------------------
    def load(self, insz: str) -> Member:
        events = list(self.app.events.get(member_id(insz)))
        return Member(insz, events)

    def append(self, member: Member, new_events: Sequence[ev.Event]) -> list[ev.Event]:
        """Append one member's new events atomically, chained to its last event."""
        return self.append_many([(member, new_events)])

    def change(
        self, insz: str, decide: Callable[[Member], list[ev.Event]], attempts: int = 60
    ) -> list[ev.Event]:
        """Load, decide, append; on a concurrent change, decide again on the fresh history.

        Retries wait a random, growing pause so that clerks colliding on one member
        do not collide again in lock-step.
        """
        for attempt in range(attempts):
            member = self.load(insz)
            new = decide(member)
            try:
                return self.append(member, new)
            except ConcurrentChange:
                if attempt == attempts - 1:
                    raise
                import random  # here: only a retry

                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 7)))
        return []

    def append_many(self, batch: Sequence[tuple[Member, Sequence[ev.Event]]]) -> list[ev.Event]:
        """Append the new events of one or many members (a yearly run's batch) in one
        transaction, each sealed after its member's last event."""
        if not any(new for _m, new in batch):
            return []
        key = self._seal_key()
        stored: list[StoredEvent] = []
        written: list[ev.Event] = []
        for member, new in batch:
            previous = member.events[-1].chain if member.events else ""
            for event in new:
                topic = f"{event.type}@{type(event).VERSION}"
                unsealed = ev.encode(msgspec.structs.replace(event, chain=""))
                previous = seal.link(
                    key, previous, topic, event.originator_id, event.originator_version, unsealed
                )
                state = self.cipher.to_stored(seal.sealed(unsealed, previous))
                stored.append(StoredEvent(event.originator_id, event.originator_version, topic, state))
                written.append(msgspec.structs.replace(event, chain=previous))
        try:
            self.recorder.insert_events(stored)
        except IntegrityError:
            changed = [m.insz for m, new in batch if new]
            who = changed[0] if len(changed) == 1 else f"{len(changed)} members"
            raise ConcurrentChange(f"{who} changed meanwhile") from None
        return written

    def import_lines(self, lines: Iterable[str | bytes], today: date, now: datetime,
                     workers: int = 1, size: int | None = None) -> tuple[int, int]:  # fmt: skip
        """Take over an event file: validated, all or nothing (see ``ledger/bulk.py``);
        ``workers`` > 1: over that many processes (``ledger/pipeline.py``); ``size``: the
        file's bytes, if known."""
        from ledger import bulk  # only an import needs it: a clerk's command starts without

        importer = bulk.Importer(today, now, self._seal_key(), self.cipher.to_stored, self.cipher.from_stored)
        expected = size // 200 if size else 1 << 16  # events, about: sizes the duplicate-id filter
        self.recorder.import_rows(importer.job(lines, expected, workers, self.recorder.reader()))
        return importer.events, importer.member_count()

    # -- scanning --------------------------------------------------------------------
    def rows(self, order: Order = "position", part: tuple[int, int] | None = None,
             upto: int | None = None) -> Iterator[Row]:  # fmt: skip
        """The stored rows as they are (checkpoints and verification read these)."""
        return self.recorder.rows(order, part, upto)

    def recorded_at(self, row: Row) -> str:
        """The recorded time a stored row claims (ISO, UTC), read without its type."""
        try:
            return str(msgspec.json.decode(self.cipher.from_stored(row.state)).get("recorded_at", ""))
        except (msgspec.DecodeError, AttributeError):
            return ""

    def _decode(self, row: Row) -> ev.Event:
        return decode_stored(row.topic, self.cipher.from_stored(row.state))

    def scan(self) -> Iterator[ev.Event]:
        """Every event in recording order (the notification log)."""
        for row in self.rows("position"):
            yield self._decode(row)

    def members(self, part: tuple[int, int] | None = None) -> Iterator[Member]:
        """Every member (or those of range ``part``) with all its events, one at a time."""
        # A rebuild reads every stored event here: the loop is ``decode_stored`` inlined over
        # the database's own rows (ids compared as text, a decoder per topic looked up in
        # one dict), which halves the read's CPU against a ``Row`` and three calls a row.
        current: list[ev.Event] = []
        current_id: Any = None
        from_stored = self.cipher.from_stored
        decoders = _by_topic
        for page in self.recorder.member_pages(part):
            for oid, topic, state, _version in page:
                if oid != current_id:
                    if current:
                        yield Member(current[0].insz, current)
                        current = []
                    current_id = oid
                decode = decoders.get(topic)
                if decode is None:
                    decode = decoders[topic] = _decoder_for(topic)
                if state.startswith(_ENCRYPTED):
                    state = from_stored(state)
                current.append(decode(state))
        if current:
            yield Member(current[0].insz, current)

    def count_events(self) -> int:
        return int(self.recorder.count())

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, after: int, limit: int = 5000) -> Iterator[tuple[int, ev.Event]]:
        """(position, event) after ``after`` in recording order, read in pages."""
        position = after
        while True:
            page = self.recorder.select_notifications(position, limit, inclusive_of_start=False)
            if not page:
                return
            for n in page:
                yield n.id, decode_stored(n.topic, self.cipher.from_stored(bytes(n.state)))
            position = page[-1].id

    # -- integrity -------------------------------------------------------------------
    def schema(self) -> int:
        return int(self.recorder.schema())

    def verify(self, key: bytes | None) -> Iterator[Problem]:
        """Every member's chain checked: one problem per tampered member (an edited, moved,
        missing or repeated event), and notes that are not tampering (links sealed the
        old way; events written by a newer version). ``key`` None: links not checked."""
        check = ChainCheck(key, legacy_allowed=self.schema() < SCHEMA)
        for row in self.rows("member"):
            problem = check.feed(row, self.cipher.from_stored(row.state))
            if problem:
                yield Problem(problem)
        legacy, newer = check.legacy, check.newer
        self.unchecked = check.unchecked
        if legacy:
            yield Problem(
                f"{legacy} events are sealed the old way (plain SHA-256, no key): "
                "run `zorgkas reseal` to seal them with the key",
                tampered=False,
            )
        if newer:
            yield Problem(
                f"{newer} events were written by a newer version of zorgkas (not checked by type)",
                tampered=False,
            )

    def reseal(self) -> int:
        """Re-seal every event with the keyed link (``zorgkas reseal``); returns the count."""
        key = self._seal_key()
        problems = [p.text for p in self.verify(key) if p.tampered]
        if problems:
            raise BadInput("--store", self.label, f"tampered, not re-sealed: {problems[0]}")

        def resealed() -> Iterator[tuple[UUID, int, bytes]]:
            current, previous = None, ""
            for row in list(self.rows("member")):
                if row.oid != current:
                    current, previous = row.oid, ""
                unsealed, _old = seal.split(self.cipher.from_stored(row.state))
                previous = seal.link(key, previous, row.topic, row.oid, row.version, unsealed)
                yield row.oid, row.version, self.cipher.to_stored(seal.sealed(unsealed, previous))

        return int(self.recorder.rewrite(resealed()))


class ChainCheck:
    """One member's chain after another, row by row (member order): versions from 1 without
    gaps, each event where it says it is, no event id twice, every link right."""

    def __init__(self, key: bytes | None, legacy_allowed: bool) -> None:
        self.key, self.legacy_allowed = key, legacy_allowed
        self.current: UUID | None = None
        self.previous, self.expected, self.broken = "", 1, False
        self.ids: set[str] = set()
        self.legacy = self.newer = self.unchecked = 0

    def feed(self, row: Row, state: bytes) -> str | None:
        if row.oid != self.current:
            self.current, self.previous, self.expected, self.broken = row.oid, "", 1, False
            self.ids = set()
        if self.broken:  # report each member once: the rest no longer chains
            return None
        problem = self._check(row, state)
        self.expected = row.version + 1
        if problem:
            self.broken = True
        return problem

    def _check(self, row: Row, state: bytes) -> str | None:
        where = f"member stream {row.oid}, event {row.version}"
        if row.version != self.expected:
            return f"{where}: event {self.expected} is missing"
        try:
            raw = msgspec.json.decode(state)
            unsealed, stored_link = seal.split(state)
            insz, event_id = str(raw["insz"]), str(raw["id"])
        except Exception as exc:
            return f"{where}: cannot be read ({type(exc).__name__})"
        name = row.topic.partition("@")[0]
        where = f"member {insz}, event {row.version} ({name}, id {event_id})"
        try:
            decode_stored(row.topic, state)
        except NewerVersion:
            self.newer += 1
        except Exception:
            return f"{where}: does not decode as its type (changed after it was recorded)"
        if str(row.oid) != raw.get("originator_id") or member_id(insz) != row.oid:
            return f"{where}: belongs to another member"
        if raw.get("originator_version") != row.version:
            return f"{where}: was moved from version {raw.get('originator_version')}"
        if event_id in self.ids:
            return f"{where}: the same event is recorded twice"
        self.ids.add(event_id)
        if seal.is_keyed(stored_link):
            if self.key is None:
                self.unchecked += 1
            else:
                expected = seal.link(self.key, self.previous, row.topic, row.oid, row.version, unsealed)
                if not hmac.compare_digest(expected, stored_link):
                    return f"{where}: does not match its sealed hash chain (changed after it was recorded)"
        elif not self.legacy_allowed:
            return f"{where}: carries an unkeyed link in a sealed store (changed after it was recorded)"
        elif seal.legacy_link(self.previous, unsealed) != stored_link:
            return f"{where}: does not match its hash chain (changed after it was recorded)"
        else:
            self.legacy += 1
        self.previous = stored_link
        return None
