"""The seal: each stored event's link, keyed so that only the key holder can forge a chain.

Every event of a member carries a link (its ``chain`` field) that covers the previous
link and the event exactly as stored: its topic, member stream id, version and stored
bytes with the link's own value left empty. Links are HMAC-SHA256 under the seal key,
a file kept outside the database (``ZORGKAS_SEAL_KEY_FILE``, default
``~/.zorgkas/seal.key``, created 0600 on first write): someone who can write to the
database but not read that file cannot make an edited event fit its chain.

``link`` is the one function that computes a link (through ``link_after``, which an
import calls with a head it builds from values kept per member); appends, imports,
``verify`` and ``reseal`` all use it. A keyed link is written ``h1:<hex>``; a link of the plain
SHA-256 chains of earlier versions (64 hex digits, no prefix) is still checked as such
(``legacy_link``) until ``zorgkas reseal`` re-seals the store.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.errors import BadInput

if TYPE_CHECKING:
    from pathlib import Path

KEY_ENV = "ZORGKAS_SEAL_KEY_FILE"
PREFIX = "h1:"
_FIELD = b'"chain":"'


def key_path() -> Path:
    from pathlib import Path  # here: only a command that writes reads the key (~3 ms)

    configured = os.environ.get(KEY_ENV)
    return Path(configured) if configured else Path.home() / ".zorgkas" / "seal.key"


def load_key(create: bool) -> bytes | None:
    """The seal key; created (0600, in a 0700 folder) when ``create`` and absent."""
    path = key_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        return _create_key(path)
    except OSError as exc:
        raise BadInput(KEY_ENV, str(path), f"the seal key cannot be read ({exc.strerror})") from None
    key = data.strip()
    if len(key) < 32:
        raise BadInput(KEY_ENV, str(path), "not a seal key (at least 32 bytes expected)")
    return key


def _create_key(path: Path) -> bytes:
    import secrets  # here: only a new key needs it (base64, random: ~2 ms of every command)

    key = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_bytes().strip()
    except OSError as exc:
        raise BadInput(KEY_ENV, str(path), f"the seal key cannot be created ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


def split(state: bytes) -> tuple[bytes, str]:
    """(the stored bytes with the link's value emptied, the link) of one stored event.

    The raw bytes ``"chain":"`` can only be the key itself: inside a JSON string every
    quote is escaped. So this does not depend on where the field sits in the object.
    """
    start = state.find(_FIELD)
    if start < 0 or state.find(_FIELD, start + 1) >= 0:
        raise ValueError("a stored event has no single chain field")
    value = start + len(_FIELD)
    end = state.index(b'"', value)
    return state[:value] + state[end:], state[value:end].decode("ascii")


def sealed(unsealed: bytes, link_value: str) -> bytes:
    """The stored bytes: ``unsealed`` (link empty) with the link written in."""
    value = unsealed.index(_FIELD) + len(_FIELD)
    return unsealed[:value] + link_value.encode("ascii") + unsealed[value:]


def link(key: bytes, previous: str, topic: str, oid: UUID, version: int, unsealed: bytes) -> str:
    """The keyed link of one event: everything that makes it this event at this place."""
    return link_after(key, head(previous, topic, oid.bytes, version), unsealed)


def head(previous: str, topic: str, oid: bytes, version: int) -> bytes:
    """What a link covers before the event's bytes: the previous link, topic, stream, version."""
    return previous.encode() + b"\n" + topic.encode() + b"\n" + oid + version.to_bytes(8, "big")


def link_after(key: bytes, head_bytes: bytes, unsealed: bytes) -> str:
    """``link`` from its ``head`` (an import builds heads from values it keeps per member)."""
    inner, outer = _pads(key)
    mac = inner.copy()
    mac.update(head_bytes)
    mac.update(unsealed)
    done = outer.copy()
    done.update(mac.digest())
    return PREFIX + done.hexdigest()


@functools.lru_cache(maxsize=4)
def _pads(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) as two SHA-256 states after the padded key, copied per link:
    the same value as ``hmac.new(key, msg, sha256)``, without its Python object per event
    (and without the key set-up of the one-shot ``hmac.digest`` each time)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def legacy_link(previous: str, unsealed: bytes) -> str:
    """The unkeyed link of stores written before the seal (checked, never written)."""
    return hashlib.sha256(previous.encode() + unsealed).hexdigest()


def is_keyed(link_value: str) -> bool:
    return link_value.startswith(PREFIX)
