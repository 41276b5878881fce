"""The Merkle code against the public RFC 6962 vectors and a naive reference implementation."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from pishkhan_gateway.auditlog import merkle

VECTORS = Path(__file__).parent / "data" / "rfc6962"


def _b64(value):
    return base64.b64decode(value or "")


def _cases(kind):
    return sorted((VECTORS / kind).rglob("*.json"))


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_inclusion_vectors(path):
    case = json.loads(path.read_text())
    ok = merkle.verify_inclusion(
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consistency_vectors(path):
    case = json.loads(path.read_text())
    ok = merkle.verify_consistency(
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        [_b64(p) for p in case["proof"] or []],
    )
    assert ok is not case["wantErr"], case["desc"]


def naive_root(leaves):
    """RFC 6962 MTH, literally."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split(len(leaves))
    return merkle.node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


def build(n):
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]
    stored, tree = {}, merkle.CompactTree()
    for leaf in leaves:
        for level, index, value in tree.append(leaf):
            stored[(level, index)] = value
    return leaves, stored, tree


def test_compact_tree_roots_match_the_naive_definition():
    _, _, tree = build(0)
    assert tree.root() == merkle.EMPTY_ROOT
    tree = merkle.CompactTree()
    for n, leaf in enumerate([merkle.leaf_hash(bytes([i])) for i in range(70)], start=1):
        for _ in tree.append(leaf):
            pass
        assert tree.root() == naive_root([merkle.leaf_hash(bytes([i])) for i in range(n)])


def test_generated_proofs_verify_for_every_index_and_size():
    leaves, stored, _ = build(33)
    lookup = lambda level, index: stored[(level, index)]  # noqa: E731
    for size in range(1, 34):
        root = merkle.range_hash(lookup, 0, size)
        assert root == naive_root(leaves[:size])
        for index in range(size):
            path = merkle.inclusion_path(lookup, index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, path, root)
            assert (
                not merkle.verify_inclusion(
                    leaves[index - 1] if index else leaves[1], index, size, path, root
                )
                or size == 1
            )
        for first in range(1, size + 1):
            path = merkle.consistency_path(lookup, first, size)
            first_root = naive_root(leaves[:first])
            assert merkle.verify_consistency(first, size, first_root, root, path), (first, size)
            if first < size:
                assert not merkle.verify_consistency(first, size, root, first_root, path)


def test_compact_tree_resumes_from_its_edge():
    leaves, stored, whole = build(21)
    edge = [stored[key] for key in merkle.CompactTree.edge_keys(13)]
    resumed = merkle.CompactTree(13, edge)
    resumed.extend(leaves[13:])
    assert resumed.root() == whole.root()
