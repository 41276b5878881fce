"""``audit`` (seal, verify, export), ``reconcile`` and ``keys``: the log and the keys behind it."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from pishkhan_gateway.auditlog import notes
from pishkhan_gateway.auditlog import verify as auditing
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.commands.common import gateway
from pishkhan_gateway.crypto import keyfiles, keyring
from pishkhan_gateway.crypto.signing import Signer, load_or_create_secret, rotate_secret
from pishkhan_gateway.pipeline.reconcile import reconcile, recover_interrupted

audit_cli = AppGroup("audit", help="The tamper-evident transaction log.")


@audit_cli.command("seal")
def audit_seal() -> None:
    """Fold every pending entry into the tree and sign a tree head now."""
    head = gateway().sealer.seal_all()
    click.echo(json.dumps(head.document if head else None, indent=2))


@audit_cli.command("verify")
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify this exported log file offline instead of the database",
)
@click.option("--deep", is_flag=True, help="Also check that every entry is canonical RFC 8785 JSON")
@click.option(
    "--against",
    "witness_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed tree head (GET /v1/audit/tree-head) or a C2SP checkpoint (GET "
    "/log/checkpoint, cosigned or not) saved earlier; the log must still produce it. Catches a "
    "database rolled back to an older copy, or a split view. Repeatable.",
)
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key to check heads with, repeatable for keys rotated out (default: the "
    "gateway's current and retired keys, or the file's)",
)
def audit_verify(
    export_file: Path | None,
    deep: bool,
    witness_files: tuple[Path, ...],
    public_keys: tuple[Path, ...],
) -> None:
    """Recompute the tree and check every signed head; exit 1 naming each bad entry."""
    pems = [p.read_text() for p in public_keys]
    gw = gateway() if export_file is None else None  # an export verifies without the database
    keys = auditing.load_keyring(pems) if pems else (gw.signer.keyring if gw else {})
    origin = str(current_app.config["LOG_ORIGIN"])
    note_keys = [notes.Verifier(origin, notes.ED25519, key) for key in keys.values()]
    saved = [p.read_bytes() for p in witness_files]
    witnesses, unreadable = auditing.parse_heads(d for d in saved if d.lstrip()[:1] == b"{")
    if unreadable:
        raise click.ClickException("a file given with --against is not a tree head (JSON)")
    for document in (d for d in saved if d.lstrip()[:1] != b"{"):
        try:
            witnesses.append(auditing.checkpoint_head(document, note_keys))
        except notes.NoteError as exc:
            raise click.ClickException(
                f"a file given with --against is not a checkpoint signed by this log: {exc}"
            ) from None
    if gw is None:
        report = auditing.verify_export(export_file, pems, witnesses)
    else:
        report = auditing.verify_store(gw.store, keys, deep=deep, witnesses=witnesses)
        # the witnesses remember the sizes they cosigned: a longer log than this one is a
        # rollback (a restored copy) the database cannot show by itself
        for witness, size in gw.witnessing.check_rollback().items():
            report.findings.append(
                auditing.Finding(
                    "rolled_back",
                    None,
                    f"witness {witness} cosigned a checkpoint of size {size}; this log is "
                    f"shorter: it was rolled back",
                )
            )
        auditing.record_run(gw.store, report)
    for finding in report.findings:
        click.echo(str(finding))
    verdict = "OK" if report.ok else f"FAILED ({len(report.findings)} problems)"
    click.echo(
        f"{verdict}: {report.entries} entries, {report.heads} signed heads, {report.sealed} sealed",
        err=not report.ok,
    )
    sys.exit(0 if report.ok else 1)


@audit_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def audit_export(path: Path) -> None:
    """Write the whole log (entries and signed heads) to a file that verifies offline."""
    gw = gateway()
    gw.sealer.seal_all()
    count = auditing.export_log(gw.store, gw.signer, path)
    click.echo(f"{count} entries written to {path}", err=True)


@click.command("reconcile")
@with_appcontext
@click.option(
    "--older-than",
    default=0,
    type=int,
    show_default=True,
    help="Only transactions unknown for at least this many seconds",
)
def reconcile_command(older_than: int) -> None:
    """Settle unknown payments and requests by asking their agencies; never re-executes.

    First, attempts a crashed worker left in flight for over PISHKHAN_INTERRUPTED_AFTER_SECONDS
    are recorded as unknown, so they are settled too."""
    gw = gateway()
    recovered = recover_interrupted(gw)
    for transaction_id in recovered:
        click.echo(f"{transaction_id}\tunknown\tinterrupted by a crash; recorded as unknown")
    if recovered:
        click.echo(f"{len(recovered)} interrupted attempts recorded", err=True)
    settlements = reconcile(gw, dt.timedelta(seconds=older_than))
    for s in settlements:
        click.echo(f"{s.transaction_id}\t{s.outcome}\t{s.detail}")
    unsettled = sum(s.outcome == "unknown" for s in settlements)
    click.echo(f"{len(settlements) - unsettled} settled, {unsettled} still unknown", err=True)
    if recovered or len(settlements) > unsettled:
        gw.sealer.seal_all()  # what the CLI wrote is in a signed head before it returns


keys_cli = AppGroup("keys", help="The gateway's key files: list and rotate.")


_KEY_FILES = {
    "signing": "SIGNING_KEY_FILE",
    "pseudonym": "PSEUDONYM_KEY_FILE",
    "encryption": "ENCRYPTION_KEY_FILE",
}


@keys_cli.command("rotate")
@click.argument("kind", type=click.Choice(keyfiles.KINDS))
def keys_rotate(kind: str) -> None:
    """Put a fresh key in place, keeping the old one retired beside it (signing: only its
    public half). Restart the workers afterwards (gunicorn: HUP)."""
    path = Path(current_app.config[_KEY_FILES[kind]])
    try:
        if kind == "signing":
            old, new = Signer.rotate(path)
        else:
            old, new = rotate_secret(path)
    except keyfiles.KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{kind} key rotated: {old} retired, {new} current", err=True)


@keys_cli.command("list")
def keys_list() -> None:
    """Each key file with its current and retired key ids (never the keys)."""
    for kind, setting in _KEY_FILES.items():
        path = Path(current_app.config[setting])
        try:
            if kind == "signing":
                current = Signer.from_file(path).key_id
            else:
                current = keyfiles.secret_id(load_or_create_secret(path))
        except keyfiles.KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        retired = [p.name.rsplit(".", 2)[-2] for p in keyfiles.retired(path)]
        click.echo(f"{kind}\t{path}\tcurrent: {current}\tretired: {', '.join(retired) or '-'}")


@keys_cli.command("forget")
@click.argument("kind", type=click.Choice(["encryption", "pseudonym"]))
@click.argument("key_id")
def keys_forget(kind: str, key_id: str) -> None:
    """Declare a retired key destroyed on purpose: what it protected stays closed for good, and
    hosts start without it (otherwise a host missing a needed key refuses to start). Recorded
    in the log."""
    gw = gateway()
    if not keyring.forget(gw.store, kind, key_id):
        click.echo(f"error: no {kind} key {key_id} is recorded", err=True)
        sys.exit(2)
    record_event(gw.store, {"type": "key_forgotten", "kind": kind, "key_id": key_id})
    click.echo(f"the {kind} key {key_id} is forgotten: what it protected stays closed", err=True)
