"""The ``pishkhan-gateway`` commands (DESIGN.md §6), registered on the app's Flask CLI.

Each reads the same environment as the server. A command that issues a credential prints only
the credential on stdout, so scripts can capture it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from pishkhan_gateway.commands.common import fail, gateway
from pishkhan_gateway.commands.licences import licences_cli
from pishkhan_gateway.commands.log import audit_cli, keys_cli, reconcile_command
from pishkhan_gateway.commands.registry import offices_cli, operators_cli, supervisors_cli
from pishkhan_gateway.commands.running import demo, sandbox, serve
from pishkhan_gateway.commands.witnesscli import log_cli, witness_cli
from pishkhan_gateway.crypto import keyring
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.pipeline import replays
from pishkhan_gateway.pricing import tariffchanges
from pishkhan_gateway.pricing.tariffs import indexed, read_data_file, validate_schedule

db_cli = AppGroup("db", help="The database schema.")


tariffs_cli = AppGroup("tariffs", help="The regulator's tariff schedules.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    gw = gateway()
    gw.store.upgrade()
    keyring.check(gw.store, gw.keyrings)  # record the keys this data will depend on
    sealed = replays.seal_plain(gw.store, gw.vault)  # replay bodies from before they were sealed
    if sealed:
        click.echo(f"sealed {sealed} stored replay answers", err=True)
    click.echo("database is at the latest schema", err=True)


@tariffs_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--amend", is_flag=True,
    help="Change only the services the file names; the rest of the schedule before carries over",
)  # fmt: skip
@click.option(
    "--drop", multiple=True, metavar="SERVICE",
    help="A priced service this schedule deliberately stops pricing (repeatable); without it a "
    "schedule that leaves out a priced service is refused",
)  # fmt: skip
@click.option(
    "--province", default=None, metavar="NAME",
    help="A provincial working group's schedule for the offices of NAME (at most the national "
    "cap where the national schedule prices a service); same as scope = \"province:NAME\"",
)  # fmt: skip
def tariffs_load(path: Path, amend: bool, drop: tuple[str, ...], province: str | None) -> None:
    """Validate and load a tariff schedule file (TOML or JSON)."""
    try:
        document = read_data_file(path)
        if province is not None:
            document["scope"] = f"province:{province}"
        schedule = tariffchanges.publish(
            gateway().tariffs, validate_schedule(document), amend=amend, drop=drop
        )
    except GatewayError as exc:
        fail(exc)
    click.echo(
        f"loaded {schedule.name!r} ({schedule.scope}), effective {schedule.effective_jalali}",
        err=True,
    )


@tariffs_cli.command("withdraw")
@click.argument("effective")
@click.option("--reason", required=True)
@click.option("--province", default=None, metavar="NAME", help="The province's schedule")
def tariffs_withdraw(effective: str, reason: str, province: str | None) -> None:
    """Withdraw the schedule effective EFFECTIVE: not yet in force, or loaded today by mistake."""
    scope = f"province:{province}" if province else "national"
    try:
        done = tariffchanges.withdraw(gateway().tariffs, effective, reason, scope=scope)
    except GatewayError as exc:
        fail(exc)
    click.echo(f"withdrew {done['name']!r} (effective {effective})", err=True)


@tariffs_cli.command("index")
@click.option("--rate", required=True, help="The announced inflation rate, e.g. 0.32")
@click.option("--effective", required=True, help="Jalali date the new caps take effect")
@click.option("--name", default=None, help="Name of the new schedule")
def tariffs_index(rate: str, effective: str, name: str | None) -> None:
    """Make and load next year's schedule from the latest one, rounded to 1,000 rials."""
    gw = gateway()
    schedules = gw.tariffs.schedules()
    if not schedules:
        click.echo("error: no schedule loaded to index from", err=True)
        sys.exit(2)
    try:
        document = indexed(schedules[-1].document, rate, effective, name)
        schedule = tariffchanges.publish(gw.tariffs, document)
    except GatewayError as exc:
        fail(exc)
    click.echo(f"loaded {schedule.name!r}, effective {schedule.effective_jalali}", err=True)
    click.echo(json.dumps(schedule.document, ensure_ascii=False, indent=2))


@tariffs_cli.command("list")
def tariffs_list() -> None:
    """List loaded schedules (effective Jalali date, name, services priced, scope)."""
    for s in gateway().tariffs.schedules(None):
        click.echo(f"{s.effective_jalali}\t{s.name}\t{len(s.caps)} services\t{s.scope}")


def register_commands(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    for command in (
        db_cli,
        offices_cli,
        operators_cli,
        tariffs_cli,
        licences_cli,
        log_cli,
        witness_cli,
        supervisors_cli,
        audit_cli,
        keys_cli,
        reconcile_command,
        serve,
        sandbox,
        demo,
    ):
        app.cli.add_command(command)
