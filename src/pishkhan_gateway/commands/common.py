"""What the commands share: the app's gateway, typed dates, credential validity, failing
cleanly."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app

from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.jalali import parse_date

VALID_DAYS = click.option(
    "--valid-days",
    type=click.IntRange(min=0),
    default=None,
    help="Days until the credential expires (default CREDENTIAL_VALID_DAYS; 0: never).",
)


def credential_days(valid_days: int | None) -> int:
    """A credential's validity: as given, else the configured default."""
    if valid_days is None:
        return int(current_app.config["CREDENTIAL_VALID_DAYS"])
    return valid_days


def gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def typed_date(value: str | None) -> dt.date | None:
    """A typed date: Jalali (``1405-01-01``, ``1405/01/01``, Persian digits) when the year is
    below 1700, else Gregorian; a clear usage error otherwise."""
    if value is None:
        return None
    try:
        return parse_date(value, gregorian_too=True)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc} (YYYY-MM-DD, Jalali or Gregorian)") from None


def fail(error: GatewayError) -> None:
    click.echo(f"error: {error.detail}", err=True)
    sys.exit(2)
