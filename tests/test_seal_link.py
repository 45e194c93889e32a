"""The seal's link is HMAC-SHA256 exactly as ``hmac`` computes it, whatever the key's length.

``ledger.seal`` computes links from precomputed padded-key states (the import's speed);
a store sealed by any earlier version must still verify, so the value must not move.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid

import pytest

from ledger import seal


@pytest.mark.parametrize("length", [32, 63, 64, 65, 128])
def test_link_is_hmac_sha256(length: int) -> None:
    key, oid = os.urandom(length), uuid.uuid4()
    unsealed = b'{"type":"Died","chain":""}'
    message = b"h1:00\nDied@1\n" + oid.bytes + (3).to_bytes(8, "big") + unsealed
    expected = "h1:" + hmac.new(key, message, hashlib.sha256).hexdigest()
    assert seal.link(key, "h1:00", "Died@1", oid, 3, unsealed) == expected
    head = seal.head("h1:00", "Died@1", oid.bytes, 3)
    assert seal.link_after(key, head, unsealed) == expected
