"""RFC 6962 / RFC 9162 Merkle trees: hashes, audit paths, and their verification.

leaf = SHA-256(0x00 ‖ entry); node = SHA-256(0x01 ‖ left ‖ right); the tree over n leaves splits
at k, the largest power of two below n. Proofs are built from *perfect subtrees* (2^level leaves
starting at a multiple of 2^level), which is what ``Nodes`` stores: the sealer adds about two per
entry, and any subtree hash needs O(log n) of them. The verifiers follow RFC 9162 §2.1.3.2 and
§2.1.4.2 and are written to be read against it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# A perfect-subtree lookup: (level, index) -> hash of leaves [index·2^level, (index+1)·2^level).
NodeLookup = Callable[[int, int], bytes]


def range_hash(nodes: NodeLookup, start: int, end: int) -> bytes:
    """MTH of leaves [start, end), where start is aligned as RFC 6962's recursion makes it."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return nodes(level, start >> level)
    k = split(n)
    return node_hash(range_hash(nodes, start, start + k), range_hash(nodes, start + k, end))


def inclusion_path(nodes: NodeLookup, index: int, size: int) -> list[bytes]:
    """RFC 6962 PATH(index, D[size]): the audit path of leaf ``index`` in the tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(range_hash(nodes, start + k, end))
            end = start + k
        else:
            path.append(range_hash(nodes, start, start + k))
            start += k
    return path[::-1]


def consistency_path(nodes: NodeLookup, first: int, second: int) -> list[bytes]:
    """RFC 6962 PROOF(first, D[second])."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    path: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                path.append(range_hash(nodes, start, end))
            break
        k = split(n)
        if m <= k:
            path.append(range_hash(nodes, start + k, end))
            end = start + k
        else:
            path.append(range_hash(nodes, start, start + k))
            start, m, complete = start + k, m - k, False
    return path[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf hash ``leaf`` at ``index`` under ``root``?"""
    if index >= size or index < 0 or len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != HASH_SIZE:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, root1: bytes, root2: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does ``path`` prove the tree of ``first`` is a prefix of ``second``?"""
    if first <= 0 or first > second:
        return False  # a proof from the empty tree proves nothing
    if first == second:
        return not path and root1 == root2
    if not path or any(len(p) != HASH_SIZE for p in path):
        return False
    if first & (first - 1) == 0:
        path = [root1, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


def fold_edge(edge: list[bytes]) -> bytes:
    """MTH of a tree from the perfect subtrees along its right edge (largest first)."""
    if not edge:
        return EMPTY_ROOT
    root = edge[-1]
    for left in reversed(edge[:-1]):
        root = node_hash(left, root)
    return root


class CompactTree:
    """A tree grown leaf by leaf keeping only its right edge (one hash per set bit of size).

    ``append`` returns the perfect subtrees each leaf completes, as ``(level, index, hash)``, so
    the sealer can store them; ``root()`` is the MTH at the current size. This is how both the
    sealer and ``audit verify`` recompute a million-entry tree in a few MB.
    """

    def __init__(self, size: int = 0, edge: Iterable[bytes] = ()) -> None:
        self.size = size
        self._edge = list(edge)  # perfect subtrees along the right edge, largest first
        if len(self._edge) != bin(size).count("1"):
            raise ValueError("the edge must hold one hash per set bit of size")

    def append(self, leaf: bytes) -> Iterator[tuple[int, int, bytes]]:
        """Add a leaf hash; yield every perfect subtree it completes (the leaf first)."""
        index, level, current = self.size, 0, leaf
        yield 0, index, current
        while index & 1:
            current = node_hash(self._edge.pop(), current)
            index >>= 1
            level += 1
            yield level, index, current
        self._edge.append(current)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaf hashes, discarding the completed-subtree reports."""
        for leaf in leaves:
            for _ in self.append(leaf):
                pass

    def root(self) -> bytes:
        """MTH of all leaves so far."""
        return fold_edge(self._edge)

    @staticmethod
    def edge_keys(size: int) -> list[tuple[int, int]]:
        """The (level, index) of the right-edge perfect subtrees of a tree of ``size``."""
        keys, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                keys.append((level, start >> level))
                start += 1 << level
        return keys
