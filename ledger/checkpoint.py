"""Signed checkpoints: proof, without any secret, that recorded history was not rewritten.

The seal (``ledger/seal.py``) stops a database writer who lacks the seal key; it cannot
stop one who has it, nor show that a member's last events or a whole member were
removed. A checkpoint can. ``zorgkas checkpoint`` signs the store's **head** with an
Ed25519 key kept by the auditor (``zorgkas keygen``): the position of the last event
recorded, the number of events and members, and one SHA-256 over every stored event up to
that position, in recording order, each as its position, member stream id, version,
topic and exact stored bytes. ``verify --checkpoint FILE --public-key PUB`` recomputes the
head over the same positions: any event recorded before the checkpoint that was changed
(even with its link recomputed with the seal key), removed, moved to another member or
version, reordered, or slipped in among them changes it. Events recorded after the
checkpoint are covered by the seal and by the next checkpoint; one that says it was
recorded before the checkpoint was made (an invented member, an old event inserted
again as a new version, history imported since) is reported, since the checkpoint
does not hold it.

Re-sealing (``zorgkas reseal``) rewrites the stored bytes: make a new checkpoint after it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import BadInput
from ledger.recorders import Row

FORMAT = "zorgkas-checkpoint/1"


@dataclass(frozen=True)
class Head:
    position: int  # the last recorded position covered (0: an empty store)
    events: int
    members: int
    digest: str  # SHA-256 over every covered event, in recording order


def head(rows: Iterable[Row], position: int) -> Head:
    """The head over ``rows`` (every stored row up to ``position``, in recording order)."""
    total = hashlib.sha256(FORMAT.encode())
    members: set[UUID] = set()
    events = 0
    for row in rows:
        item = hashlib.sha256(f"{row.position}\n{row.oid}\n{row.version}\n{row.topic}\n".encode())
        item.update(row.state)
        total.update(item.digest())
        members.add(row.oid)
        events += 1
    return Head(position, events, len(members), total.hexdigest())


def keygen(folder: str) -> tuple[Path, Path]:
    """A new Ed25519 key pair: ``signing.key`` (0600, never overwritten) and ``signing.pub``."""
    where = Path(folder)
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput("DIR", folder, f"cannot be made ({exc.strerror})") from None
    private, public = where / "signing.key", where / "signing.pub"
    if private.exists() or public.exists():
        raise BadInput("DIR", folder, "already holds a signing key; nothing overwritten")
    key = Ed25519PrivateKey.generate()
    secret = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    except OSError as exc:
        raise BadInput("DIR", folder, f"cannot be written ({exc.strerror})") from None
    return private, public


def cipher_keygen(folder: str) -> Path:
    """A new AES-256 key for encryption at rest: ``DIR/cipher.key`` (0600, never overwritten)."""
    from ledger.store import new_cipher_key

    path = Path(folder) / "cipher.key"
    try:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadInput("DIR", folder, "already holds a cipher key; nothing overwritten") from None
    except OSError as exc:
        raise BadInput("DIR", folder, f"cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(new_cipher_key() + "\n")
    return path


def _canonical(fields: dict[str, object]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(option, path, f"cannot be read ({exc.strerror})") from None


def sign(the_head: Head, store: str, made_at: str, signing_key: str) -> dict[str, object]:
    """The checkpoint document: the head, where and when, and its signature."""
    try:
        key = serialization.load_pem_private_key(_read(signing_key, "--signing-key"), password=None)
    except (ValueError, TypeError):
        raise BadInput("--signing-key", signing_key, "not an unencrypted Ed25519 signing key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput("--signing-key", signing_key, "not an Ed25519 signing key")
    fields: dict[str, object] = {"format": FORMAT, "store": store, "made_at": made_at, **asdict(the_head)}
    return {**fields, "signature": key.sign(_canonical(fields)).hex()}


@dataclass(frozen=True)
class Signed:
    head: Head
    made_at: str  # ISO date-time (UTC) when it was signed


def load(path: str, public_key: str) -> Signed:
    """What a checkpoint file vouches for; bad input unless it is one."""
    try:
        document = json.loads(_read(path, "--checkpoint"))
        fields = {k: v for k, v in document.items() if k != "signature"}
        signature = bytes.fromhex(document["signature"])
        the_head = Head(
            int(fields["position"]), int(fields["events"]), int(fields["members"]), str(fields["digest"])
        )
        made_at = str(fields["made_at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadInput("--checkpoint", path, "not a zorgkas checkpoint file") from None
    if fields.get("format") != FORMAT:
        raise BadInput("--checkpoint", path, f"not a {FORMAT} file")
    try:
        key = serialization.load_pem_public_key(_read(public_key, "--public-key"))
    except (ValueError, TypeError):
        raise BadInput("--public-key", public_key, "not an Ed25519 public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput("--public-key", public_key, "not an Ed25519 public key")
    try:
        key.verify(signature, _canonical(fields))
    except InvalidSignature:
        raise CheckpointForged(path) from None
    return Signed(the_head, made_at)


class CheckpointForged(Exception):
    """The checkpoint file was not signed by this key (or was changed since)."""


def check(rows: Iterable[Row], signed: Signed, recorded_at: Callable[[Row], str]) -> list[str]:
    """Every way the store now differs from what the checkpoint vouches for.

    One pass in recording order: the rows up to the checkpoint's position must give its
    head; a row after it that says it was recorded before the checkpoint was made
    (an invented member, an old event inserted again) is not covered by it.
    """
    late: list[str] = []

    def upto() -> Iterator[Row]:
        for row in rows:
            if row.position <= signed.head.position:
                yield row
            elif (when := recorded_at(row)) < signed.made_at:
                late.append(
                    f"member stream {row.oid}, event {row.version} ({row.topic.partition('@')[0]}) says "
                    f"it was recorded at {when}, before the checkpoint of {signed.made_at}, but the "
                    "checkpoint does not hold it (invented, inserted again, or imported since)"
                )

    now = head(upto(), signed.head.position)
    changed = compare(signed.head, now)
    return ([changed] if changed else []) + late


def compare(signed: Head, now: Head) -> str | None:
    """What changed among the events the checkpoint covers, or None."""
    if signed == now:
        return None
    return (
        f"events recorded before the checkpoint (positions up to {signed.position}) were changed, "
        f"removed, reordered or added: the checkpoint covers {signed.events} events of "
        f"{signed.members} members, the store now holds {now.events} events of {now.members} "
        "members there, with another digest"
    )
