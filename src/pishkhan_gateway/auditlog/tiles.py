"""The log as C2SP tiles (c2sp.org/tlog-tiles): what any standard client (Go's
``golang.org/x/mod/sumdb/tlog``, Sigsum's, Rekor's) reads to check the tree without our API.

- ``tile/<L>/<N>[.p/<W>]``: 256 (or W) consecutive hashes of level 8·L of the RFC 6962 tree — at
  level 0 the leaf hashes, at level 1 the roots of 256-leaf subtrees, and so on — the N-th group;
- ``tile/entries/<N>[.p/<W>]``: the entries themselves, each as a big-endian uint16 length and
  its exact bytes;
- ``checkpoint``: the latest checkpoint, a signed note (``notes.py``).

N is written in groups of three digits, all but the last prefixed with ``x`` (1234067 →
``x001/x234/067``). A full tile never changes; a partial one (``.p/W``) never changes either, so
all are cacheable for good. The hashes come from the sealed tree (``merkle_nodes``): only what a
checkpoint covers is served.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pishkhan_gateway.store.tables import LogEntry, MerkleNode

HEIGHT = 8
WIDTH = 1 << HEIGHT
MAX_ENTRY = 0xFFFF
_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


class TileNotFound(LookupError):
    """No such tile, or not under the checkpoint."""


@dataclass(frozen=True)
class Tile:
    level: int  # -1 for an entry bundle
    index: int
    width: int  # 1..256; 256 is a full tile

    @property
    def path(self) -> str:
        level = "entries" if self.level < 0 else str(self.level)
        partial = "" if self.width == WIDTH else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{partial}"


def encode_index(n: int) -> str:
    """1234067 → ``x001/x234/067``."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def parse(path: str) -> Tile:
    """The tile a path (after ``tile/``) names, or ``TileNotFound``."""
    level_text, _, rest = path.partition("/")
    if level_text == "entries":
        level = -1
    elif level_text.isdigit() and len(level_text) <= 2:
        level = int(level_text)
    else:
        raise TileNotFound(path)
    width = WIDTH
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not width_text.isdigit() or not 1 <= int(width_text) < WIDTH or width_text[0] == "0":
            raise TileNotFound(path)
        width = int(width_text)
    if not _INDEX.match(rest):
        raise TileNotFound(path)
    index = int(rest.replace("x", "").replace("/", ""))
    return Tile(level, index, width)


def available(tile: Tile, tree_size: int) -> bool:
    """Whether a tree of ``tree_size`` has all of ``tile`` (a partial tile: exactly as wide as
    what the tree has at that position, or any narrower width a smaller checkpoint had)."""
    level = 0 if tile.level < 0 else tile.level
    count = tree_size >> (HEIGHT * level)  # hashes (or entries) of that level in the tree
    return tile.index * WIDTH + tile.width <= count


def read(session: Session, tile: Tile, tree_size: int) -> bytes:
    """The tile's bytes, or ``TileNotFound`` when the tree of ``tree_size`` does not cover it."""
    if not available(tile, tree_size):
        raise TileNotFound(tile.path)
    start = tile.index * WIDTH
    if tile.level < 0:
        rows = session.execute(
            select(LogEntry.index, LogEntry.entry)
            .where(LogEntry.index >= start, LogEntry.index < start + tile.width)
            .order_by(LogEntry.index)
        ).all()
        if len(rows) != tile.width:
            raise TileNotFound(tile.path)
        out = bytearray()
        for _index, entry in rows:
            data = bytes(entry)
            if len(data) > MAX_ENTRY:  # never: entries are a few hundred bytes
                raise ValueError(f"entry {_index} is longer than an entry bundle can hold")
            out += struct.pack(">H", len(data)) + data
        return bytes(out)
    hashes = session.execute(
        select(MerkleNode.index, MerkleNode.hash)
        .where(
            MerkleNode.level == HEIGHT * tile.level,
            MerkleNode.index >= start,
            MerkleNode.index < start + tile.width,
        )
        .order_by(MerkleNode.index)
    ).all()
    if len(hashes) != tile.width:
        raise TileNotFound(tile.path)
    return b"".join(bytes(value) for _index, value in hashes)


def tiles_of(tree_size: int) -> list[Tile]:
    """Every tile a tree of ``tree_size`` has: full ones, and the partial one at each level's
    end — what ``log publish`` writes."""
    out = []
    level = 0
    while True:
        count = tree_size >> (HEIGHT * level)
        if count == 0:
            break
        for index in range(count // WIDTH):
            out.append(Tile(level, index, WIDTH))
            if level == 0:
                out.append(Tile(-1, index, WIDTH))
        if count % WIDTH:
            out.append(Tile(level, count // WIDTH, count % WIDTH))
            if level == 0:
                out.append(Tile(-1, count // WIDTH, count % WIDTH))
        level += 1
    return out
