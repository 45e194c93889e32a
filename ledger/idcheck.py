"""The import's duplicate-id check: a Bloom filter in memory, the ids themselves on disk.

An event file imported twice, or a line repeated, must be refused by name (the first
repeated line), but keeping every id of a quarter of a billion events in memory is not
possible, and an index of random keys (a B-tree insert per event) costs ~10 % of the
import. So each id goes through a blocked Bloom filter (a 64-bit word chosen by the id's
hash, three bits set in it: about 2 bytes of memory per event, ~0.5 % false positives)
and is appended, with its line, to an unindexed temporary file (20 bytes per event,
sequential writes, deleted when the import ends). Only an id the filter may have seen
becomes a suspect; at the end one pass over the file checks the suspects exactly.

The result is exact: a line is repeated when its id is the id of an earlier line or of
an event already stored for a member the file names; the error names the first such line.
Memory: ~2 bytes per event (the filter) plus the suspects; the file grows on disk.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterable
from uuid import UUID

from ledger.errors import BadInput

_RECORD = struct.Struct("<16sI")  # the id and its line (0: stored before the import)
_PER_WORD = 4  # ids per 64-bit word before a new, larger layer starts (16 bits per id)


class IdCheck:
    """Add every id in line order (``stored`` first for a member met), then ``first_repeat``."""

    def __init__(self, expected: int = 1 << 16) -> None:
        self.layers: list[memoryview] = []
        self.capacity = 0  # ids the newest layer takes before a larger one starts
        self.count = 0
        self._grow(max(expected, 1 << 12))
        self.suspects: set[bytes] = set()
        self.file = tempfile.TemporaryFile(prefix="zorgkas-import-ids-")  # noqa: SIM115 - closed in close()

    def _grow(self, ids: int) -> None:
        words = 1 << max(ids // _PER_WORD, 64).bit_length()
        self.layers.append(memoryview(bytearray(8 * words)).cast("Q"))
        self.capacity = self.count + words * _PER_WORD

    def add(self, ids: Iterable[bytes], lines: Iterable[int]) -> None:
        """Record ids (16 bytes each) with their lines (0 for stored events)."""
        ids = list(ids)
        lines = list(lines)
        self.file.write(b"".join(map(_RECORD.pack, ids, lines)))
        self.count += len(ids)
        if self.count > self.capacity:
            self._grow(self.count * 2)
        layers = self.layers
        words = layers[-1]
        mask = len(words) - 1
        suspects = self.suspects
        older = layers[:-1]
        for i in ids:
            h = hash(i)
            bits = (1 << ((h >> 40) & 63)) | (1 << ((h >> 46) & 63)) | (1 << ((h >> 52) & 63))
            w = h & mask
            old = words[w]
            if old & bits == bits:
                suspects.add(i)
            else:
                words[w] = old | bits
                for layer in older:  # a grown filter: the id may sit in an older layer
                    if layer[h & (len(layer) - 1)] & bits == bits:
                        suspects.add(i)
                        break

    def first_repeat(self) -> BadInput | None:
        """The error naming the first repeated line, or None: one pass over the ids."""
        if not self.suspects:
            return None
        self.file.flush()
        self.file.seek(0)
        first: dict[bytes, int] = {}  # a suspect's first line (0: stored)
        repeated: tuple[int, bytes] | None = None
        while block := self.file.read(_RECORD.size * 65536):
            for event_id, line in _RECORD.iter_unpack(block):
                if event_id not in self.suspects:
                    continue
                if event_id not in first:
                    first[event_id] = line
                    continue
                # Repeated: this line, or (a stored id met after the line) the earlier line.
                at = line if line else first[event_id]
                if at and (repeated is None or at < repeated[0]):
                    repeated = (at, event_id)
        if repeated is None:
            return None
        line, event_id = repeated
        return BadInput(
            "id", str(UUID(bytes=event_id)), "this event is already in the store or the file", line
        )

    def close(self) -> None:
        self.file.close()
