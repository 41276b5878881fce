"""The ``pishkhan-gateway`` commands (DESIGN.md §6), registered on the app's Flask CLI.

Each reads the same environment as the server. A command that issues a credential prints only
the credential on stdout, so scripts can capture it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
import jdatetime
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from pishkhan_gateway import auditing, keyfiles, offices, supervisors
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.identity import verify_before_otp
from pishkhan_gateway.reconcile import reconcile, recover_interrupted
from pishkhan_gateway.running import demo, sandbox, serve
from pishkhan_gateway.signing import Signer, load_or_create_secret, rotate_secret
from pishkhan_gateway.tariffs import CATEGORIES, indexed, read_schedule_file

db_cli = AppGroup("db", help="The database schema.")
offices_cli = AppGroup("offices", help="Licensed offices and their credentials.")
operators_cli = AppGroup("operators", help="The people who work an office's counter.")
tariffs_cli = AppGroup("tariffs", help="The regulator's tariff schedules.")
supervisors_cli = AppGroup(
    "supervisors", help="The regulator, provincial working groups and agency auditors."
)
audit_cli = AppGroup("audit", help="The tamper-evident transaction log.")


_VALID_DAYS = click.option(
    "--valid-days",
    type=click.IntRange(min=0),
    default=None,
    help="Days until the credential expires (default CREDENTIAL_VALID_DAYS; 0: never).",
)


def _days(valid_days: int | None) -> int:
    """A credential's validity: as given, else the configured default."""
    if valid_days is None:
        return int(current_app.config["CREDENTIAL_VALID_DAYS"])
    return valid_days


def _gw() -> Gateway:
    return current_app.extensions["pishkhan"]


def _date(value: str | None) -> dt.date | None:
    """``YYYY-MM-DD``: Jalali when the year is below 1700, else Gregorian."""
    if value is None:
        return None
    year, month, day = (int(p) for p in value.split("-"))
    if year < 1700:
        return jdatetime.date(year, month, day).togregorian()
    return dt.date(year, month, day)


def _fail(error: GatewayError) -> None:
    click.echo(f"error: {error.detail}", err=True)
    sys.exit(2)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    _gw().store.upgrade()
    click.echo("database is at the latest schema", err=True)


@offices_cli.command("add")
@click.option("--id", "office_id", required=True)
@click.option("--licence", required=True, help="Licence number")
@click.option("--name", required=True)
@click.option("--holder", default=None, help="The licence holder's name")
@click.option("--type", "office_type", type=click.Choice(offices.OFFICE_TYPES), required=True)
@click.option("--province", required=True)
@click.option("--city", required=True)
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--issued", default=None, help="Licence issue date (Jalali or ISO); default today")
@click.option(
    "--expires",
    default=None,
    help="Licence expiry (Jalali or ISO YYYY-MM-DD); default five years from issue",
)
def offices_add(
    office_id: str,
    licence: str,
    name: str,
    holder: str | None,
    office_type: str,
    province: str,
    city: str,
    category: str,
    issued: str | None,
    expires: str | None,
) -> None:
    """Register a licensed office."""
    try:
        office = offices.add_office(
            _gw().store,
            id=office_id,
            licence_no=licence,
            name=name,
            type=office_type,
            province=province,
            city=city,
            category=category,
            issued_on=_date(issued),
            expires_on=_date(expires),
            holder=holder,
        )
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"office {office.id} added; licence valid until {office.expires_on}", err=True)


@offices_cli.command("list")
def offices_list() -> None:
    """List offices (id, status, category, province, licence expiry)."""
    for office in offices.list_offices(_gw().store):
        click.echo(
            f"{office.id}\t{office.status}\t{office.category}\t{office.province}\t"
            f"{office.expires_on}\t{office.name}"
        )


@offices_cli.command("show")
@click.argument("office_id")
def offices_show(office_id: str) -> None:
    """Show one office as JSON."""
    office = offices.get_office(_gw().store, office_id)
    if office is None:
        click.echo(f"error: no office {office_id}", err=True)
        sys.exit(2)
    click.echo(
        json.dumps(
            {
                "id": office.id,
                "licence_no": office.licence_no,
                "name": office.name,
                "holder": office.holder,
                "type": office.type,
                "province": office.province,
                "city": office.city,
                "category": office.category,
                "status": office.status,
                "status_reason": office.status_reason,
                "issued_on": office.issued_on.isoformat(),
                "expires_on": office.expires_on.isoformat(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


@offices_cli.command("issue-key")
@click.argument("office_id")
@_VALID_DAYS
def offices_issue_key(office_id: str, valid_days: int | None) -> None:
    """Issue a bearer credential for the office; prints only the credential, once."""
    try:
        click.echo(offices.issue_key(_gw().store, office_id, _days(valid_days)))
    except GatewayError as exc:
        _fail(exc)


@offices_cli.command("revoke-key")
@click.argument("credential")
def offices_revoke_key(credential: str) -> None:
    """Revoke a credential (whole, or its pgk_<id> prefix); effective on the next request."""
    try:
        office_id = offices.revoke_key(_gw().store, credential)
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"credential of office {office_id} revoked", err=True)


@operators_cli.command("add")
@click.argument("office_id")
@click.argument("national_code")
@click.option(
    "--birth-date",
    default=None,
    help="Jalali birth date: match the operator at the Civil Registry (identity level 2) first",
)
def operators_add(office_id: str, national_code: str, birth_date: str | None) -> None:
    """Register an operator (by national code) to an office."""
    gw = _gw()
    try:
        if birth_date is not None:
            verify_before_otp(
                level=2,
                citizen={"national_code": national_code, "birth_date": birth_date},
                plugins=gw.plugins,
                agencies=gw.agencies(),
            )
        offices.add_operator(gw.store, gw.pseudonyms, office_id, national_code)
    except GatewayError as exc:
        _fail(exc)
    level = "matched at the Civil Registry" if birth_date else "national code checked only"
    click.echo(f"operator registered to {office_id} ({level})", err=True)


@operators_cli.command("revoke")
@click.argument("office_id")
@click.argument("national_code")
def operators_revoke(office_id: str, national_code: str) -> None:
    """Revoke an operator of an office (effective on the next request)."""
    gw = _gw()
    try:
        offices.revoke_operator(gw.store, gw.pseudonyms, office_id, national_code)
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"operator revoked at {office_id}", err=True)


@tariffs_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def tariffs_load(path: Path) -> None:
    """Validate and load a tariff schedule file (TOML or JSON)."""
    try:
        schedule = _gw().tariffs.load(read_schedule_file(path))
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"loaded {schedule.name!r}, effective {schedule.effective_jalali}", err=True)


@tariffs_cli.command("index")
@click.option("--rate", required=True, help="The announced inflation rate, e.g. 0.32")
@click.option("--effective", required=True, help="Jalali date the new caps take effect")
@click.option("--name", default=None, help="Name of the new schedule")
def tariffs_index(rate: str, effective: str, name: str | None) -> None:
    """Make and load next year's schedule from the latest one, rounded to 1,000 rials."""
    gw = _gw()
    schedules = gw.tariffs.schedules()
    if not schedules:
        click.echo("error: no schedule loaded to index from", err=True)
        sys.exit(2)
    try:
        schedule = gw.tariffs.load(indexed(schedules[-1].document, rate, effective, name))
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"loaded {schedule.name!r}, effective {schedule.effective_jalali}", err=True)
    click.echo(json.dumps(schedule.document, ensure_ascii=False, indent=2))


@tariffs_cli.command("list")
def tariffs_list() -> None:
    """List loaded schedules (effective Jalali date, name, services priced)."""
    for schedule in _gw().tariffs.schedules():
        click.echo(f"{schedule.effective_jalali}\t{schedule.name}\t{len(schedule.caps)} services")


@supervisors_cli.command("add")
@click.option("--id", "supervisor_id", required=True)
@click.option("--role", type=click.Choice(supervisors.ROLES), required=True)
@click.option(
    "--scope", default=None, help="Province name (role province) or agency name (role agency)"
)
def supervisors_add(supervisor_id: str, role: str, scope: str | None) -> None:
    """Register a supervisor with a role and scope."""
    try:
        added = supervisors.add(_gw().store, supervisor_id, role, scope)
    except GatewayError as exc:
        _fail(exc)
    click.echo(f"supervisor {supervisor_id} added ({added.label})", err=True)


@supervisors_cli.command("issue-key")
@click.argument("supervisor_id")
@_VALID_DAYS
def supervisors_issue_key(supervisor_id: str, valid_days: int | None) -> None:
    """Issue a bearer credential for the supervisor; prints only the credential, once."""
    try:
        click.echo(supervisors.issue_key(_gw().store, supervisor_id, _days(valid_days)))
    except GatewayError as exc:
        _fail(exc)


@audit_cli.command("seal")
def audit_seal() -> None:
    """Fold every pending entry into the tree and sign a tree head now."""
    head = _gw().sealer.seal_all()
    click.echo(json.dumps(head.document if head else None, indent=2))


@audit_cli.command("verify")
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify this exported log file offline instead of the database",
)
@click.option("--deep", is_flag=True, help="Also check canonical form and every transaction row")
@click.option(
    "--against",
    "witness_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed tree head saved earlier (GET /v1/audit/tree-head); the log must still "
    "produce it. Catches a database rolled back to an older copy. Repeatable.",
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
    witnesses, unreadable = auditing.parse_heads(p.read_bytes() for p in witness_files)
    if unreadable:
        raise click.ClickException("a file given with --against is not a tree head (JSON)")
    if export_file is not None:
        report = auditing.verify_export(export_file, pems, witnesses)
    else:
        gw = _gw()
        keys = auditing.load_keyring(pems) if pems else gw.signer.keyring
        report = auditing.verify_store(gw.store, keys, deep=deep, witnesses=witnesses)
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
    gw = _gw()
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
    gw = _gw()
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


def register_commands(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    for command in (
        db_cli,
        offices_cli,
        operators_cli,
        tariffs_cli,
        supervisors_cli,
        audit_cli,
        keys_cli,
        reconcile_command,
        serve,
        sandbox,
        demo,
    ):
        app.cli.add_command(command)
