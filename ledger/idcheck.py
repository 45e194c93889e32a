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
from array import array
from uuid import UUID

from ledger.errors import BadInput

_COUNT = struct.Struct("<I")  # ids in a record block; then the ids, then their lines
_PER_WORD = 4  # ids per 64-bit word before a new, larger layer starts (16 bits per id)


class IdCheck:
    """``add`` every id (in any order: the import's workers send theirs as they finish a
    batch), then ``first_repeat``."""

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

    def add(self, ids: bytes, lines: bytes | None) -> None:
        """Record ids (16 bytes each, one after the other) with their lines (signed 64-bit
        integers in the machine's order, as ``array('q').tobytes()``; None: stored before
        the import). One block of the file per call: the bytes as given, no record each."""
        count = len(ids) // 16
        if not count:
            return
        self.file.write(_COUNT.pack(count))
        self.file.write(ids)
        self.file.write(lines if lines is not None else bytes(8 * count))
        self.count += count
        if self.count > self.capacity:
            self._grow(self.count * 2)
        layers = self.layers
        words = layers[-1]
        mask = len(words) - 1
        suspects = self.suspects
        older = layers[:-1]
        for k in range(0, 16 * count, 16):
            i = ids[k : k + 16]
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
        """The error naming the first repeated line, or None: one pass over the ids.

        As the sequential import finds it, whatever order the ids came in: an id stored
        before the import repeats at its first line in the file, any other id at its
        second line; the smallest such line is reported."""
        if not self.suspects:
            return None
        self.file.flush()
        self.file.seek(0)
        seen: dict[bytes, list[int]] = {}  # a suspect's lines (0: stored)
        suspects = self.suspects
        read = self.file.read
        while head := read(_COUNT.size):
            (count,) = _COUNT.unpack(head)
            ids = read(16 * count)
            lines = array("q")
            lines.frombytes(read(8 * count))
            # The suspects of this block by a set intersection, then their places by find.
            for event_id in suspects.intersection([ids[k : k + 16] for k in range(0, 16 * count, 16)]):
                at = ids.find(event_id)
                while at >= 0:
                    if at % 16 == 0:
                        seen.setdefault(event_id, []).append(lines[at // 16])
                    at = ids.find(event_id, at + 1)
        repeated: tuple[int, bytes] | None = None
        for event_id, found in seen.items():
            in_file = sorted(line for line in found if line)
            if not in_file or len(found) < 2:
                continue
            at = in_file[0] if len(in_file) < len(found) else in_file[1]
            if repeated is None or at < repeated[0]:
                repeated = (at, event_id)
        if repeated is None:
            return None
        line, event_id = repeated
        return BadInput(
            "id", str(UUID(bytes=event_id)), "this event is already in the store or the file", line
        )

    def close(self) -> None:
        self.file.close()
