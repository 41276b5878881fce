"""``offices``, ``operators`` and ``supervisors``: who may use the gateway."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from pishkhan_gateway.commands.common import VALID_DAYS, credential_days, fail, gateway, typed_date
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.pipeline.identity import verify_before_otp
from pishkhan_gateway.pipeline.request import CitizenInput
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.registry.offices import CATEGORIES

offices_cli = AppGroup("offices", help="Licensed offices and their credentials.")


operators_cli = AppGroup("operators", help="The people who work an office's counter.")


supervisors_cli = AppGroup(
    "supervisors", help="The regulator, provincial working groups and agency auditors."
)


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
            gateway().store,
            id=office_id,
            licence_no=licence,
            name=name,
            type=office_type,
            province=province,
            city=city,
            category=category,
            issued_on=typed_date(issued),
            expires_on=typed_date(expires),
            holder=holder,
        )
    except GatewayError as exc:
        fail(exc)
    click.echo(f"office {office.id} added; licence valid until {office.expires_on}", err=True)


@offices_cli.command("list")
def offices_list() -> None:
    """List offices (id, status, category, province, licence expiry)."""
    for office in offices.list_offices(gateway().store):
        click.echo(
            f"{office.id}\t{office.status}\t{office.category}\t{office.province}\t"
            f"{office.expires_on}\t{office.name}"
        )


@offices_cli.command("show")
@click.argument("office_id")
def offices_show(office_id: str) -> None:
    """Show one office as JSON."""
    office = offices.get_office(gateway().store, office_id)
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
@VALID_DAYS
def offices_issue_key(office_id: str, valid_days: int | None) -> None:
    """Issue a bearer credential for the office; prints only the credential, once."""
    try:
        click.echo(offices.issue_key(gateway().store, office_id, credential_days(valid_days)))
    except GatewayError as exc:
        fail(exc)


@offices_cli.command("revoke-key")
@click.argument("credential")
def offices_revoke_key(credential: str) -> None:
    """Revoke a credential (whole, or its pgk_<id> prefix); effective on the next request."""
    try:
        office_id = offices.revoke_key(gateway().store, credential)
    except GatewayError as exc:
        fail(exc)
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
    gw = gateway()
    try:
        if birth_date is not None:
            verify_before_otp(
                level=2,
                citizen=CitizenInput(national_code=national_code, birth_date=birth_date),
                plugins=gw.plugins,
                agencies=gw.agencies(),
            )
        offices.add_operator(gw.store, gw.pseudonyms, office_id, national_code)
    except GatewayError as exc:
        fail(exc)
    level = "matched at the Civil Registry" if birth_date else "national code checked only"
    click.echo(f"operator registered to {office_id} ({level})", err=True)


@operators_cli.command("revoke")
@click.argument("office_id")
@click.argument("national_code")
def operators_revoke(office_id: str, national_code: str) -> None:
    """Revoke an operator of an office (effective on the next request)."""
    gw = gateway()
    try:
        offices.revoke_operator(gw.store, gw.pseudonyms, office_id, national_code)
    except GatewayError as exc:
        fail(exc)
    click.echo(f"operator revoked at {office_id}", err=True)


@supervisors_cli.command("add")
@click.option("--id", "supervisor_id", required=True)
@click.option("--role", type=click.Choice(supervisors.ROLES), required=True)
@click.option(
    "--scope", default=None, help="Province name (role province) or agency name (role agency)"
)
def supervisors_add(supervisor_id: str, role: str, scope: str | None) -> None:
    """Register a supervisor with a role and scope."""
    try:
        added = supervisors.add(gateway().store, supervisor_id, role, scope)
    except GatewayError as exc:
        fail(exc)
    click.echo(f"supervisor {supervisor_id} added ({added.label})", err=True)


@supervisors_cli.command("issue-key")
@click.argument("supervisor_id")
@VALID_DAYS
def supervisors_issue_key(supervisor_id: str, valid_days: int | None) -> None:
    """Issue a bearer credential for the supervisor; prints only the credential, once."""
    try:
        click.echo(
            supervisors.issue_key(gateway().store, supervisor_id, credential_days(valid_days))
        )
    except GatewayError as exc:
        fail(exc)


@supervisors_cli.command("revoke-key")
@click.argument("credential")
def supervisors_revoke_key(credential: str) -> None:
    """Revoke a supervisor credential (whole, or its psk_<id> prefix); effective on its next
    request, its console sessions end."""
    try:
        supervisor_id = supervisors.revoke_key(gateway().store, credential)
    except GatewayError as exc:
        fail(exc)
    click.echo(f"revoked a credential of {supervisor_id}", err=True)
