"""The transaction log at scale: `audit verify` and streamed export over N entries.

    python bench/log_scale.py [--entries 1000000]

Fills an SQLite log with N realistic transaction entries (and their rows), seals it, then runs
each measurement in a fresh process so its peak memory (ru_maxrss) is its own:

- baseline: open the store and stream every entry from the driver, doing nothing with it;
- verify: ``verify_store`` (every head's root recomputed from the entries, every transaction row
  checked against its entry);
- verify --deep: plus canonical form;
- tree only: the helpers' pass without the row check (what verify cost before it checked rows);
- export: the regulator's JSON-lines export, streamed to nowhere.

Every figure is printed beside the baseline of the same run. Targets (the performance issue):
verify ≥ 0.65 × the baseline; verify and export under 200 MB peak at 1,000,000 entries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def fill(db_url: str, data_dir: Path, n: int) -> None:
    """Write n entries and rows directly (the pipeline's own format), then seal."""
    import datetime as dt

    from pishkhan_gateway.auditlog.sealer import Sealer
    from pishkhan_gateway.crypto.signing import Signer, canonical
    from pishkhan_gateway.pipeline.record import Outcome, log_entry, sign_receipt
    from pishkhan_gateway.store import Store

    store = Store(db_url)
    store.upgrade()
    created = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    template = Outcome(
        transaction_id="tx_" + "0" * 32,
        created_at=created,
        outcome="succeeded",
        http_status=201,
        office_id="office-00001",
        operator="a" * 64,
        service="postbank.bill.pay",
        agency="postbank",
        kind="payment",
        citizen="c" * 64,
        agency_amount=120000,
        office_fee=40000,
        fee_cap=53000,
        agency_reference="PB0123456789AB",
        latency_ms=12,
    )
    signer = Signer.from_file(data_dir / "signing-key.pem")
    receipt = json.dumps(sign_receipt(template, 0, signer), ensure_ascii=False)
    result = "Ag" + "B" * 130  # the length of a real encrypted result
    sealed = "Ag" + "A" * 158  # the length of a real encrypted national code and mobile
    # The columns the row check reads, as SQLAlchemy stores them (the entry binds the same text;
    # one receipt for all rows: its digest costs the same whatever it holds).
    row_template = {
        "kind": "payment",
        "http_status": 201,
        "citizen_encrypted": sealed,
        "idempotency_key": "e" * 64,  # a keyed pseudonym
        "receipt": receipt,
        "result": result,
    }
    entry = canonical(log_entry(template, row_template))
    placeholder = b"tx_" + b"0" * 32
    stored_time = created.strftime("%Y-%m-%d %H:%M:%S.%f")
    raw = store.engine.raw_connection()
    cursor = raw.cursor()
    batch = 20000
    for start in range(0, n, batch):
        cursor.execute("BEGIN")  # the engine runs pysqlite in autocommit; one fsync per batch
        entries, rows = [], []
        for i in range(start, min(n, start + batch)):
            tx = f"tx_{i:032x}"
            entries.append((i, entry.replace(placeholder, tx.encode()), stored_time))
            rows.append(
                (
                    tx,
                    i,
                    stored_time,
                    "office-00001",
                    "a" * 64,
                    "postbank.bill.pay",
                    "postbank",
                    "payment",
                    "succeeded",
                    None,
                    201,
                    "c" * 64,
                    120000,
                    40000,
                    160000,
                    53000,
                    "PB0123456789AB",
                    row_template["idempotency_key"],
                    12,
                    sealed,
                    result,
                    receipt,
                )
            )
        cursor.executemany(
            'INSERT INTO log_entries ("index", entry, created_at) VALUES (?, ?, ?)', entries
        )
        cursor.executemany(
            "INSERT INTO transactions (id, log_index, created_at, office_id, operator, service, "
            "agency, kind, outcome, code, http_status, citizen, agency_amount, office_fee, "
            "total, fee_cap, agency_reference, idempotency_key, latency_ms, citizen_sealed, "
            "result, receipt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        cursor.execute("COMMIT")
    cursor.execute("UPDATE log_state SET size = ? WHERE id = 1", (n,))
    raw.close()
    started = time.perf_counter()
    Sealer(store, signer, batch=50000).seal_all()
    print(f"# sealed {n:,} entries in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    store.dispose()


def measure(kind: str, db_url: str, data_dir: Path) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    from pishkhan_gateway.auditlog import verify as auditing
    from pishkhan_gateway.crypto.signing import Signer
    from pishkhan_gateway.records import search as oversight
    from pishkhan_gateway.registry.supervisors import Scope
    from pishkhan_gateway.store import Store

    store = Store(db_url)
    key = Signer.from_file(data_dir / "signing-key.pem").public_key
    started = time.perf_counter()
    count, helpers_kb = 0, 0
    if kind == "baseline":
        with auditing._cursor(store, auditing.ENTRIES_SQL) as cursor:
            for _ in cursor:
                count += 1
    elif kind == "tree-only":
        from pishkhan_gateway.auditlog import blockroots

        with store.read() as session:
            (log_size, _) = session.execute(auditing._SIZE_AND_STRAYS).one()
        roots = blockroots.roots_at(
            db_url, log_size, [log_size], workers=min(os.cpu_count() or 1, 4), rows=False
        )
        assert roots is not None
        count, helpers_kb = log_size, roots.helpers_peak_kb
    elif kind in ("verify", "verify-deep"):
        report = auditing.verify_store(store, key, deep=kind == "verify-deep")
        assert report.ok, report.findings[:3]
        count, helpers_kb = report.entries, report.helpers_peak_kb
    elif kind == "export":
        for chunk in oversight.export(
            store, Scope("bench", "regulator"), oversight.Filters(), "jsonl"
        ):
            count += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb() + helpers_kb / 1024  # the hashing helpers' memory counts too
    return {"count": count, "seconds": seconds, "peak_mb": peak_mb}


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that across exec from
    the parent that forked us; VmHWM belongs to this program's own address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, db_url: str, data_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(HERE), "--measure", kind, "--db", db_url, "--data", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--measure")
    parser.add_argument("--db")
    parser.add_argument("--data")
    args = parser.parse_args()
    os.environ.setdefault("PISHKHAN_LOG_LEVEL", "WARNING")
    if args.measure:
        print(json.dumps(measure(args.measure, args.db, Path(args.data))))
        return
    with tempfile.TemporaryDirectory(prefix="pishkhan-bench-") as tmp:
        data = Path(tmp)
        db_url = f"sqlite:///{data / 'log.db'}"
        started = time.perf_counter()
        fill(db_url, data, args.entries)
        print(f"# filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        results = {
            kind: run(kind, db_url, data)
            for kind in ("baseline", "verify", "tree-only", "verify-deep", "export")
        }
    base = results["baseline"]
    print(
        f"\nLog at scale: {args.entries:,} entries, SQLite, "
        f"{platform.machine()} × {os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    print(
        f"{'measure':<14}{'entries/s':>12}{'× baseline':>12}{'peak MB':>10}"
        f"{'× baseline':>12}  target"
    )
    base_rate = base["count"] / base["seconds"]
    targets = {  # (what, least entries/s, most MB)
        "verify": ("≥ 0.65 × baseline, < 200 MB", 0.65 * base_rate, 200),
        "verify-deep": ("< 200 MB", 0, 200),
        "export": ("< 200 MB", 0, 200),
    }
    for kind, r in results.items():
        rate = r["count"] / r["seconds"]
        target, min_rate, max_mb = targets.get(kind, ("", 0, 0))
        verdict = ""
        if target:
            met = rate >= min_rate and r["peak_mb"] <= max_mb
            verdict = f"{target}: {'met' if met else 'MISSED'}"
        print(
            f"{kind:<14}{rate:>12,.0f}{rate / base_rate:>12.2f}"
            f"{r['peak_mb']:>10.0f}{r['peak_mb'] / base['peak_mb']:>12.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
