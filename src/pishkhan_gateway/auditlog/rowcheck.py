"""The routine row check: every transaction row against the log entry of its index.

A transaction row repeats its entry's fields (the columns history, settlements, scorecards and
exports read) and holds a few the entry cannot carry verbatim: the agency's ``result`` and the
signed ``receipt`` (shown to the office), the office's ``idempotency_key`` and the encrypted
citizen data. Entries of version 2 bind those by a digest (``sha256``: the first 128 bits of
SHA-256 of the stored text, in hex) and carry ``kind`` and ``http_status``. A digest never
reveals personal data: what could name a citizen is stored encrypted (the citizen data and the
agency's result, AES-GCM with the transaction id as associated data) or keyed (the
Idempotency-Key's pseudonym), so each digest is of ciphertext, of a keyed hash or of a receipt.

The comparison runs inside the database, one statement per range of indexes, so the verifier's
helper processes can share it by block: each entry is rebuilt from its row (``json_object`` in
SQLite's C code, ``jsonb_build_object`` in PostgreSQL's) and compared, and only the rows that
disagree come back. Which columns disagree is then worked out in Python for those rows alone
(``rowfindings.explain``).

This module needs only the standard library: the helper processes (``blockroots.py``, run by path
in isolated mode) load it by path beside themselves.
"""

from __future__ import annotations

import hashlib
from typing import Any

DIGEST_HEX = 32  # 128 bits of SHA-256: ample against a second preimage, half the bytes
# Entry field -> transaction column, compared as they are (all entry versions).
VERBATIM = (
    ("transaction_id", "id"),
    ("office", "office_id"),
    ("operator", "operator"),
    ("service", "service"),
    ("agency", "agency"),
    ("outcome", "outcome"),
    ("code", "code"),
    ("citizen", "citizen"),
    ("agency_amount", "agency_amount"),
    ("office_fee", "office_fee"),
    ("total", "total"),
    ("fee_cap", "fee_cap"),
    ("agency_reference", "agency_reference"),
    ("latency_ms", "latency_ms"),
)
# Version 2: compared as they are, and the columns bound by digest.
VERBATIM_V2 = (("kind", "kind"), ("http_status", "http_status"))
DIGESTED = ("citizen_sealed", "idempotency_key", "receipt", "result")


def digest(text: str | None) -> str | None:
    """The digest an entry holds for a stored text column (None for NULL)."""
    if text is None:
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_HEX]


def bound_columns(
    *,
    kind: str | None,
    http_status: int,
    citizen_sealed: str | None,
    idempotency_key: str | None,
    receipt: str | None,
    result: str | None,
) -> dict[str, Any]:
    """The fields a version 2 transaction entry adds for its row's other columns."""
    return {
        "kind": kind,
        "http_status": http_status,
        "sha256": {
            "citizen_sealed": digest(citizen_sealed),
            "idempotency_key": digest(idempotency_key),
            "receipt": digest(receipt),
            "result": digest(result),
        },
    }


_DIGESTS_JSON = '{{"citizen_sealed":{},"idempotency_key":{},"receipt":{},"result":{}}}'


def _quoted_digest(text: str | None) -> str:
    if text is None:
        return "null"
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:DIGEST_HEX] + '"'


def _digests(sealed: str | None, key: str | None, receipt: str | None, result: str | None) -> str:
    """SQLite's side of ``sha256``: the object as JSON text, one call a row. This function is
    most of the row check's cost on SQLite: keep it to hashing and formatting."""
    return _DIGESTS_JSON.format(
        _quoted_digest(sealed),
        _quoted_digest(key),
        _quoted_digest(receipt),
        _quoted_digest(result),
    )


# The entry rebuilt from its row, key by key in the canonical (sorted) order: (key, SQLite
# expression, PostgreSQL expression, first version holding it). ``c`` is the row.
_RECEIPT = "CASE WHEN c.settled_log_index IS NULL THEN c.receipt END"  # settled: the original's
_PG_DIGEST = "left(encode(sha256(convert_to({0}, 'UTF8')), 'hex'), " + str(DIGEST_HEX) + ")"
_FIELDS = (
    ("agency", "c.agency", "c.agency", 1),
    ("agency_amount", "c.agency_amount", "c.agency_amount", 1),
    ("agency_reference", "c.agency_reference", "c.agency_reference", 1),
    ("citizen", "c.citizen", "c.citizen", 1),
    ("code", "c.code", "c.code", 1),
    ("fee_cap", "c.fee_cap", "c.fee_cap", 1),
    ("http_status", "c.http_status", "c.http_status", 2),
    ("kind", "c.kind", "c.kind", 2),
    ("latency_ms", "c.latency_ms", "c.latency_ms", 1),
    ("office", "c.office_id", "c.office_id", 1),
    ("office_fee", "c.office_fee", "c.office_fee", 1),
    ("operator", "c.operator", "c.operator", 1),
    ("outcome", "c.outcome", "c.outcome", 1),
    ("service", "c.service", "c.service", 1),
    (
        "sha256",
        f"json(pishkhan_digests(c.citizen_sealed, c.idempotency_key, {_RECEIPT}, c.result))",
        "jsonb_build_object("
        + ", ".join(
            f"'{name}', " + _PG_DIGEST.format(column)
            for name, column in (
                ("citizen_sealed", "c.citizen_sealed"),
                ("idempotency_key", "c.idempotency_key"),
                ("receipt", _RECEIPT),
                ("result", "c.result"),
            )
        )
        + ")",
        2,
    ),
    (
        "time",
        "substr(replace(c.created_at, ' ', 'T'), 1, 23) || 'Z'",
        "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
        1,
    ),
    ("total", "c.total", "c.total", 1),
    ("transaction_id", "c.id", "c.id", 1),
    ("type", "'transaction'", "'transaction'", 1),
    ("v", "{v}", "{v}", 1),
)


def _rebuilt(dialect: str, version: int) -> str:
    """The SQL expression of a version-``version`` entry rebuilt from its row."""
    build, at = ("json_object", 1) if dialect == "sqlite" else ("jsonb_build_object", 2)
    pairs = (f"'{f[0]}', {f[at].format(v=version)}" for f in _FIELDS if f[3] <= version)
    return f"{build}({', '.join(pairs)})"


# One statement a range: (index, bad, settled, reconciliation) for each row that disagrees
# with its entry or names no transaction entry (``bad``; a superset: on SQLite the rebuilt
# entry's *text* is compared, so an entry holding something SQLite spells differently, such as
# a control character, is only a candidate, and ``rowfindings`` decides; on PostgreSQL jsonb
# compares values), each row recording a settlement, and each reconciliation entry, found by a
# substring the JSON then confirms. Entries of other types are not read past the substring.
_SETTLED = (
    "(c.settled_outcome IS NOT NULL OR c.settled_log_index IS NOT NULL "
    "OR c.settled_at IS NOT NULL OR c.settled_reference IS NOT NULL)"
)
_SQLITE = """
SELECT z.idx, z.bad, z.settled, z.recon FROM (
  SELECT c.idx, c.recon, {settled} AS settled,
    CASE WHEN c.id IS NULL THEN NOT c.recon ELSE c.j IS NOT (
      CASE WHEN instr(c.j, '"v":1' || char(125)) > 0 THEN {v1} ELSE {v2} END
    ) END AS bad
  FROM (
    SELECT e."index" AS idx, CAST(e.entry AS TEXT) AS j, t.*,
      CASE WHEN t.id IS NULL
        THEN CAST(e.entry AS TEXT) LIKE '%"type":"reconciliation"%' ELSE 0 END AS recon
    FROM log_entries e LEFT JOIN transactions t ON t.log_index = e."index"
    WHERE e."index" >= {{start:d}} AND e."index" < {{end:d}}
      AND (t.id IS NOT NULL OR CAST(e.entry AS TEXT) LIKE '%"type":"transaction"%'
           OR CAST(e.entry AS TEXT) LIKE '%"type":"reconciliation"%')
  ) c
) z WHERE z.bad OR z.settled OR z.recon
ORDER BY z.idx
"""
_POSTGRESQL = """
SELECT z.idx, z.bad, z.settled, z.recon FROM (
  SELECT c.idx, c.recon, {settled} AS settled,
    CASE WHEN c.id IS NULL THEN NOT c.recon ELSE x.j IS DISTINCT FROM (
      CASE WHEN x.j->>'v' = '1' THEN {v1} ELSE {v2} END
    ) END AS bad
  FROM (
    SELECT e."index" AS idx, e.entry, t.*,
      t.id IS NULL AND position('"type":"reconciliation"'::bytea IN e.entry) > 0 AS recon
    FROM log_entries e LEFT JOIN transactions t ON t.log_index = e."index"
    WHERE e."index" >= {{start:d}} AND e."index" < {{end:d}}
      AND (t.id IS NOT NULL OR position('"type":"transaction"'::bytea IN e.entry) > 0
           OR position('"type":"reconciliation"'::bytea IN e.entry) > 0)
  ) c CROSS JOIN LATERAL (
    SELECT CASE WHEN c.id IS NOT NULL THEN convert_from(c.entry, 'UTF8')::jsonb END AS j
  ) x
) z WHERE z.bad OR z.settled OR z.recon
ORDER BY z.idx
"""
_STATEMENTS = {
    dialect: template.format(settled=_SETTLED, v1=_rebuilt(dialect, 1), v2=_rebuilt(dialect, 2))
    for dialect, template in (("sqlite", _SQLITE), ("postgresql", _POSTGRESQL))
}


def prepare(connection: Any, dialect: str) -> None:
    """Make the digest function known to an SQLite connection (PostgreSQL has its own)."""
    if dialect == "sqlite":
        connection.create_function("pishkhan_digests", 4, _digests, deterministic=True)


Scan = tuple[list[int], list[int], list[int]]  # (disagreeing, settled rows, reconciliations)


def scan(connection: Any, dialect: str, start: int, end: int) -> Scan | None:
    """The row check of [start, end): the indexes whose transaction entry and row disagree (or
    one of them is missing), of rows recording a settlement, and of reconciliation entries;
    None when the database could not read the range as JSON (an entry that is not JSON or not
    UTF-8 stops the statement: the caller checks that range in Python)."""
    found: Scan = ([], [], [])
    cursor = connection.cursor()
    try:
        cursor.execute(_STATEMENTS[dialect].format(start=start, end=end))
        for index, *flags in cursor:
            for kind, flag in zip(found, flags, strict=True):
                if flag:
                    kind.append(int(index))
    except Exception as exc:  # the two drivers' errors share no base class but Exception
        if "sqlite" in type(exc).__module__ or "psycopg" in type(exc).__module__:
            connection.rollback()
            return None
        raise
    finally:
        cursor.close()
    return found
