"""``licences fees …`` (the regulator's licence fee schedules) and ``offices renew|transfer|
relocate`` (the regulator's decisions applied from the shell)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from pishkhan_gateway.commands.common import fail, gateway
from pishkhan_gateway.commands.registry import offices_cli
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.jalali import rials
from pishkhan_gateway.pricing import licencefees
from pishkhan_gateway.registry.offices import CATEGORIES
from pishkhan_gateway.regulation import lifecycle

licences_cli = AppGroup("licences", help="Licence fee schedules (fees by category, fine cap).")
fees_cli = AppGroup("fees", help="The regulator's licence fees and yearly fine cap.")
licences_cli.add_command(fees_cli)


@fees_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def fees_load(path: Path) -> None:
    """Validate and load a licence fee schedule (TOML or JSON, contracts/licences/)."""
    try:
        schedule = licencefees.load(gateway().store, licencefees.read_file(path))
    except GatewayError as exc:
        fail(exc)
    click.echo(f"loaded {schedule.name!r}, effective {schedule.effective}", err=True)


@fees_cli.command("index")
@click.option("--rate", required=True, help="The central bank's announced inflation, e.g. 0.35")
@click.option("--effective", required=True, help="Jalali date the indexed fees take effect")
def fees_index(rate: str, effective: str) -> None:
    """Make and load next year's schedule from the latest, rounded to 1,000 rials."""
    store = gateway().store
    loaded = licencefees.schedules(store)
    if not loaded:
        click.echo("error: no licence fee schedule loaded to index from", err=True)
        sys.exit(2)
    try:
        schedule = licencefees.load(
            store, licencefees.indexed(loaded[-1].document, rate, effective)
        )
    except GatewayError as exc:
        fail(exc)
    click.echo(f"loaded {schedule.name!r}, effective {schedule.effective}", err=True)
    click.echo(json.dumps(schedule.document, ensure_ascii=False, indent=2))


@fees_cli.command("list")
def fees_list() -> None:
    """Loaded schedules: effective date, name, the fee per category, the fine cap (rials)."""
    for schedule in licencefees.schedules(gateway().store):
        fees = ", ".join(f"{c} {schedule.licence_fee(c):,}" for c in CATEGORIES)
        click.echo(f"{schedule.effective}\t{schedule.name}\t{fees}\tfine cap {schedule.fine_cap:,}")


def _show(result: dict) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@offices_cli.command("renew")
@click.argument("office_id")
@click.option("--reason", required=True)
def offices_renew(office_id: str, reason: str) -> None:
    """Renew a licence for five years from its expiry, recording the renewal fee in force."""
    try:
        result = lifecycle.direct(gateway().store, office_id, "renewal", {}, reason)
    except GatewayError as exc:
        fail(exc)
    click.echo(
        f"renewed to {result['expires_on']}; renewal fee {rials(result['renewal_fee'])} rials",
        err=True,
    )
    _show(result)


@offices_cli.command("transfer")
@click.argument("office_id")
@click.option("--holder", required=True, help="The new licence holder")
@click.option("--reason", required=True)
def offices_transfer(office_id: str, holder: str, reason: str) -> None:
    """Transfer a licence to a new holder (the old holder's credentials and operators end)."""
    try:
        _show(lifecycle.direct(gateway().store, office_id, "transfer", {"holder": holder}, reason))
    except GatewayError as exc:
        fail(exc)


@offices_cli.command("relocate")
@click.argument("office_id")
@click.option("--city", required=True)
@click.option("--address", required=True)
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--effective", default=None, help="First day at the new address (default today)")
@click.option("--reason", required=True)
def offices_relocate(
    office_id: str, city: str, address: str, category: str, effective: str | None, reason: str
) -> None:
    """Move an office: new city, address and location category from ``--effective``."""
    body = {"city": city, "address": address, "category": category}
    try:
        _show(lifecycle.direct(gateway().store, office_id, "relocation", body, reason, effective))
    except GatewayError as exc:
        fail(exc)
