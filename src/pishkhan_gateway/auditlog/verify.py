"""``audit verify``: recompute the log's tree and check it against every signed tree head.

Works on the database or on an exported log file (``export_log``) with memory that does not grow
with the log. A fast pass recomputes every head's root from the entries; when it finds a problem
(or with ``--deep``) a second pass streams entries beside the sealed leaf hashes to name each bad
entry. Every run also checks each transaction row against its entry and each settlement against
its reconciliation entry (``rowcheck.py``). What it reports, by index where the evidence allows:

- ``missing``: an index with no entry (deleted rows, a truncated tail);
- ``modified``: an entry whose hash differs from the leaf sealed for it (edits, bit flips, and
  both positions of a swap);
- ``not_canonical``: an entry that is not RFC 8785 JSON (a hand edit; deep);
- ``head_mismatch``: a signed head whose root the entries no longer produce, with the range of
  indexes between the last matching head and it;
- ``bad_signature``: a head not signed by the gateway's key (or not a head at all);
- ``rolled_back`` / ``forked``: against a head saved outside the database (``--against``), the
  log is shorter than that head, or its first entries no longer produce that head's root;
- ``row_mismatch``: a transaction row that disagrees with its log entry, with the columns named
  (also: an entry whose row is gone, a row whose entry is not there, a settlement that no
  reconciliation entry records).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select, text

from pishkhan_gateway.auditlog import blockroots, merkle, rowcheck, rowfindings
from pishkhan_gateway.crypto.signing import PublicKeys, Signer, key_id, verify
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import AuditRun, LogEntry, TreeHead

log = structlog.get_logger(__name__)
_STREAM = {"yield_per": 5000}
NAMED_AT_MOST = 1000  # rows explained column by column; any further ones are counted


@dataclass(frozen=True)
class Finding:
    """One problem, at ``index`` when it can be pinned to an entry."""

    kind: str
    index: int | None
    detail: str

    def __str__(self) -> str:
        where = f"index {self.index}" if self.index is not None else "log"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    """What verification found."""

    entries: int = 0
    heads: int = 0
    sealed: int = 0
    findings: list[Finding] = field(default_factory=list)
    helpers_peak_kb: int = 0  # peak memory of the fast pass's helper processes, if it used any

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings


def _canonical(decoded: Any, entry: bytes) -> bool:
    """Is ``entry`` the RFC 8785 form of ``decoded``? For the log's entries (ASCII keys,
    integers, strings) ``json.dumps`` with sorted keys produces the same bytes and is C-fast;
    only when it differs is the pure-Python RFC 8785 encoder asked."""
    fast = json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return fast.encode() == entry or rfc8785.dumps(decoded) == entry


def _ahead(
    stream: Iterator[tuple[int, Any]], index: int, current: tuple[int, Any] | None
) -> tuple[int, Any] | None:
    """Advance a sorted (index, value) stream to the first item at or after ``index``."""
    while current is not None and current[0] < index:
        current = next(stream, None)
    return current


# Marks a head made from a C2SP checkpoint whose note signature ``checkpoint_head`` verified (an
# object no JSON file can contain, so a saved head cannot claim it).
CHECKPOINT_VERIFIED = object()


def checkpoint_head(note: str | bytes, verifiers: Iterable[Any]) -> dict[str, Any]:
    """A saved C2SP checkpoint (``GET /log/checkpoint``, cosigned or not) as a head to verify
    against, once the log's note signature on it verifies; ``NoteError`` otherwise."""
    from pishkhan_gateway.auditlog import notes

    text, _ = notes.verify(note, verifiers)
    checkpoint = notes.Checkpoint.parse(text)
    return {
        "tree_size": checkpoint.size,
        "root_hash": checkpoint.root.hex(),
        "_verified": CHECKPOINT_VERIFIED,
    }


def parse_heads(documents: Iterable[str | bytes]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Decode stored head documents; one that is not even a JSON object is a finding."""
    heads, findings = [], []
    for document in documents:
        try:
            head = json.loads(document)
            if not isinstance(head, dict):
                raise ValueError("not an object")
        except ValueError:
            findings.append(Finding("bad_signature", None, "a stored tree head is not JSON"))
            continue
        heads.append(head)
    return heads, findings


def _valid_heads(
    heads: Iterable[dict[str, Any]], public_key: PublicKeys, report: Report, *, kind: str
) -> list[dict[str, Any]]:
    """The heads signed by ``public_key`` (one key, or the keyring of current and retired keys)
    with a sane size; the others become findings."""
    valid = []
    for head in heads:
        size = head.get("tree_size")
        signed = head.get("_verified") is CHECKPOINT_VERIFIED or verify(head, public_key)
        if signed and isinstance(size, int) and size >= 0:
            valid.append(head)
            continue
        whose = "the saved (witness) head" if kind == "witness" else f"tree head {size}"
        report.findings.append(
            Finding("bad_signature", None, f"{whose} is not signed by the gateway's key")
        )
    return valid


def check_tree(
    entries: Iterable[tuple[int, bytes]],
    heads: Iterable[dict[str, Any]],
    public_key: PublicKeys,
    *,
    log_size: int | None = None,
    witnesses: Iterable[dict[str, Any]] = (),
) -> Report:
    """The fast pass: gaps, head signatures, and every head's root recomputed from entries.

    One SHA-256 per entry plus one per completed subtree, the right edge of the tree in memory
    (a few dozen hashes), nothing else: this is what must run at hundreds of thousands of
    entries a second.

    ``witnesses`` are heads saved *outside* the database (``audit verify --against``): the log
    must still produce each one. They catch what the database alone cannot show — a copy rolled
    back to an older state, or rewritten and re-signed from some point on — because a host that
    rewrites its own database can also rewrite the heads kept in it.
    """
    report = Report()
    stored = _valid_heads(heads, public_key, report, kind="stored")
    saved = _valid_heads(witnesses, public_key, report, kind="witness")
    report.heads = len(stored)
    targets = iter(
        sorted(
            [(h["tree_size"], False, h) for h in stored if h["tree_size"] > 0]
            + [(h["tree_size"], True, h) for h in saved if h["tree_size"] > 0],
            key=lambda t: (t[0], t[1]),
        )
    )
    target = next(targets, None)
    sha256 = hashlib.sha256
    edge: list[bytes] = []
    size, last_good, broken = 0, 0, False
    for index, entry in entries:
        if index != size:
            if not broken:
                report.findings.append(
                    Finding(
                        "missing",
                        size,
                        f"entries {size}..{index - 1} are missing (deleted or renumbered)",
                    )
                )
            broken = True  # past a gap the recomputed roots mean nothing
            size = index
        if broken:
            size += 1
            continue
        node = sha256(b"\x00" + entry).digest()
        position = size
        while position & 1:
            node = sha256(b"\x01" + edge.pop() + node).digest()
            position >>= 1
        edge.append(node)
        size += 1
        while target is not None and target[0] == size:
            root = edge[-1]
            for left in reversed(edge[:-1]):
                root = sha256(b"\x01" + left + root).digest()
            if root.hex() == target[2].get("root_hash"):
                last_good = size
            elif target[1]:
                report.findings.append(
                    Finding(
                        "forked",
                        None,
                        f"the first {size} entries no longer produce the saved head's root: "
                        "the log was rewritten (and perhaps re-signed) since that head was saved",
                    )
                )
            else:
                report.findings.append(
                    Finding(
                        "head_mismatch",
                        None,
                        f"signed head {size} no longer matches: an entry in "
                        f"{last_good}..{size - 1} was altered, inserted, removed or reordered",
                    )
                )
            target = next(targets, None)
    report.entries = size
    report.sealed = max((h["tree_size"] for h in stored), default=0)
    if report.sealed > size:
        report.findings.append(
            Finding(
                "missing",
                size,
                f"signed head {report.sealed} covers entries {size}..{report.sealed - 1}, "
                "which are gone",
            )
        )
    witnessed = max((h["tree_size"] for h in saved), default=0)
    if witnessed > size:
        report.findings.append(
            Finding(
                "rolled_back",
                size,
                f"the saved head covers {witnessed} entries but the log has {size}: the "
                "database was rolled back to an older copy or its tail was cut off",
            )
        )
    if log_size is not None and log_size != size:
        report.findings.append(
            Finding(
                "missing" if log_size > size else "inserted",
                min(log_size, size),
                f"the log's size is {log_size} but {size} entries were found",
            )
        )
    return report


def locate(
    entries: Iterable[tuple[int, bytes]],
    sealed_leaves: Iterable[tuple[int, bytes]],
    *,
    canonical: bool = False,
) -> list[Finding]:
    """The second pass: name entries that differ from the leaf sealed for them, and (with
    ``canonical``) entries that are not RFC 8785 JSON."""
    findings: list[Finding] = []
    leaves = iter(sealed_leaves)
    leaf_at = next(leaves, None)
    for index, entry in entries:
        leaf_at = _ahead(leaves, index, leaf_at)
        if (
            leaf_at is not None
            and leaf_at[0] == index
            and bytes(leaf_at[1]) != merkle.leaf_hash(entry)
        ):
            findings.append(
                Finding("modified", index, "the entry differs from the leaf sealed for it")
            )
        if not canonical:
            continue
        try:
            if not _canonical(json.loads(entry), bytes(entry)):
                raise ValueError("not canonical")
        except ValueError:
            findings.append(Finding("not_canonical", index, "the entry is not RFC 8785 JSON"))
    return findings


@contextmanager
def _cursor(store: Store, sql: str) -> Iterator[Iterable[tuple[Any, ...]]]:
    """A driver cursor over ``sql`` (server-side on PostgreSQL), iterated directly: the
    verifier's hot loop cannot afford an ORM row or a generator frame per entry."""
    raw = store.engine.raw_connection()
    try:
        if store.is_sqlite:
            cursor = raw.cursor()
        else:
            cursor = raw.driver_connection.cursor(name="pishkhan_verify")  # type: ignore[union-attr]
            cursor.itersize = 10000
        cursor.execute(sql)
        yield cursor
        cursor.close()
    finally:
        raw.rollback()
        raw.close()


ENTRIES_SQL = 'SELECT "index", entry FROM log_entries ORDER BY "index"'
_ENTRIES_BELOW_SQL = (
    'SELECT "index", entry FROM log_entries WHERE "index" < {size} ORDER BY "index"'
)


def _confirm_in_parallel(
    store: Store,
    heads: list[dict[str, Any]],
    public_key: PublicKeys,
    witnesses: list[dict[str, Any]],
    log_size: int,
    *,
    workers: int,
    block: int,
) -> tuple[Report, rowfindings.Scanned] | None:
    """The fast pass by blocks (``blockroots``), with the row check on the same helpers: when
    every head and witness checks out, a report and what the row check found; else None (the
    sequential pass then says what is wrong, entry by entry)."""
    report = Report()
    stored = _valid_heads(heads, public_key, report, kind="stored")
    saved = _valid_heads(witnesses, public_key, report, kind="witness")
    targets = [(h["tree_size"], h.get("root_hash")) for h in (*stored, *saved)]
    if report.findings or any(size > log_size for size, _ in targets):
        return None
    try:
        roots = blockroots.roots_at(
            store.url,
            log_size,
            [size for size, _ in targets],
            workers=workers,
            block=block,
            rows=True,
        )
    except (OSError, RuntimeError) as exc:  # a helper could not run: the slow pass still can
        log.warning("verify_helpers_failed", error=str(exc))
        return None
    if roots is None or any(roots.at[size].hex() != root for size, root in targets):
        return None
    report.entries, report.heads = log_size, len(stored)
    report.sealed = max((h["tree_size"] for h in stored), default=0)
    report.helpers_peak_kb = roots.helpers_peak_kb
    return report, rowfindings.Scanned(*roots.rows, unread=roots.unread)


def _scan_rows(store: Store, log_size: int) -> rowfindings.Scanned:
    """The row check in this process, over the whole log (``rowcheck``)."""
    dialect = "sqlite" if store.is_sqlite else "postgresql"
    raw = store.engine.raw_connection()
    try:
        connection = raw.driver_connection
        rowcheck.prepare(connection, dialect)
        found = rowcheck.scan(connection, dialect, 0, log_size)
    finally:
        raw.rollback()
        raw.close()
    if found is None:
        return rowfindings.Scanned([], [], [], unread=[(0, log_size)])
    return rowfindings.Scanned(*found)


# One statement, so one snapshot on both databases: the log's size and any entry outside it.
_SIZE_AND_STRAYS = text(
    'SELECT s.size, (SELECT count(*) FROM log_entries e WHERE e."index" < 0 '
    'OR e."index" >= s.size) FROM log_state s WHERE s.id = 1'
)
PARALLEL_FROM = 200_000  # entries from which the fast pass hashes in helper processes


def verify_store(
    store: Store,
    public_key: PublicKeys,
    *,
    deep: bool = False,
    witnesses: Iterable[dict[str, Any]] = (),
    workers: int | None = None,
    parallel_from: int = PARALLEL_FROM,
    block: int = blockroots.BLOCK,
) -> Report:
    """Verify the database's log against its signed heads (and any ``witnesses`` saved
    elsewhere) and every transaction row and settlement against its entry; on a failure (or
    ``deep``) name the entries, and with ``deep`` also check canonical form.

    From ``parallel_from`` entries the fast pass (tree and rows) runs by blocks in ``workers``
    helper processes (default: one per core); anything it cannot confirm sends it to the
    sequential pass.
    """
    witnesses = list(witnesses)
    with store.read() as session:
        heads, broken = parse_heads(session.scalars(select(TreeHead.document)))
        log_size, strays = session.execute(_SIZE_AND_STRAYS).one()
    workers = workers or min(os.cpu_count() or 1, 4)
    confirmed = None
    if not broken and not strays and workers > 1 and log_size >= parallel_from:
        confirmed = _confirm_in_parallel(
            store, heads, public_key, witnesses, log_size, workers=workers, block=block
        )
    if confirmed is None:
        # With no stray entries in the size's snapshot, anything past the size was appended
        # since (a live gateway): leave it out, or it would read as inserted.
        sql = ENTRIES_SQL if strays else _ENTRIES_BELOW_SQL.format(size=int(log_size))
        with _cursor(store, sql) as entries:
            report = check_tree(entries, heads, public_key, log_size=log_size, witnesses=witnesses)
        scanned = _scan_rows(store, log_size)
    else:
        report, scanned = confirmed
    report.findings[:0] = broken
    tree_ok = report.ok
    report.findings += [
        Finding("row_mismatch", index, detail)
        for index, detail in rowfindings.problems(store, scanned, log_size, NAMED_AT_MOST)
    ]
    if tree_ok and not deep:
        return report
    with contextlib.ExitStack() as stack:
        entries = stack.enter_context(_cursor(store, ENTRIES_SQL))
        leaves = stack.enter_context(
            _cursor(
                store, 'SELECT "index", hash FROM merkle_nodes WHERE level = 0 ORDER BY "index"'
            )
        )
        report.findings.extend(locate(entries, leaves, canonical=deep))
    return report


def record_run(store: Store, report: Report) -> None:
    """Keep the result of a database verification (the console's integrity page shows it)."""
    with store.write() as session:
        session.add(
            AuditRun(
                finished_at=utcnow(),
                ok=report.ok,
                entries=report.entries,
                heads=report.heads,
                problems=len(report.findings),
                detail="\n".join(str(f) for f in report.findings[:20]),
            )
        )


def last_run(store: Store) -> AuditRun | None:
    """The most recent recorded verification."""
    with store.read() as session:
        return session.scalar(select(AuditRun).order_by(AuditRun.id.desc()).limit(1))


def export_log(store: Store, signer: Signer, path: Path) -> int:
    """Write the log (entries and signed heads) as JSON lines that verify without the database."""
    count = 0
    with path.open("w", encoding="utf-8") as out, store.read() as session:
        out.write(
            json.dumps(
                {
                    "type": "pishkhan.log.v1",
                    "key_id": signer.key_id,
                    "public_key": signer.public_pem,
                    "public_keys": [k["public_key"] for k in signer.public_keys()],
                }
            )
            + "\n"
        )
        for document in session.scalars(select(TreeHead.document).order_by(TreeHead.tree_size)):
            out.write(json.dumps({"head": json.loads(document)}) + "\n")
        entries = session.execute(
            select(LogEntry.index, LogEntry.entry)
            .order_by(LogEntry.index)
            .execution_options(**_STREAM)
        )
        for index, entry in entries:
            out.write(
                json.dumps({"index": index, "entry": base64.b64encode(bytes(entry)).decode()})
                + "\n"
            )
            count += 1
    return count


def verify_export(
    path: Path, public_key_pems: Iterable[str] = (), witnesses: Iterable[dict[str, Any]] = ()
) -> Report:
    """Verify an exported log file offline (with the given keys, else the file's own)."""
    heads: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        for line in fh:
            item = json.loads(line)
            if "head" in item:
                heads.append(item["head"])
    pems = list(public_key_pems) or header.get("public_keys") or [header["public_key"]]
    key = load_keyring(pems)

    def entries() -> Iterator[tuple[int, bytes]]:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                item = json.loads(line)
                if "entry" in item:
                    yield item["index"], base64.b64decode(item["entry"])

    return check_tree(entries(), heads, key, witnesses=witnesses)


def load_keyring(pems: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """``{key id: key}`` from PEM public keys (``ValueError`` for one that is not Ed25519)."""
    keys = []
    for pem in pems:
        key = load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("a public key is not Ed25519")
        keys.append(key)
    return {key_id(key): key for key in keys}
