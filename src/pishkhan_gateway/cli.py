"""The ``pishkhan-gateway`` executable: the app's Flask CLI, configured from the environment."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from pishkhan_gateway import __version__
from pishkhan_gateway.app import create_app

# FlaskGroup's own --app/--env-file/--debug would only confuse here: the app is always ours and
# is configured by PISHKHAN_* variables.
_FLASK_OPTIONS = {"app", "env_file", "debug"}


def build() -> click.Group:
    """The command group (separate from ``main`` so tests can invoke it)."""
    group = FlaskGroup(
        name="pishkhan-gateway",
        create_app=lambda: create_app(),
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        set_debug_flag=False,
        help="Pishkhan Gateway: one endpoint between service counters and "
        "agencies. Every command reads PISHKHAN_* from the environment.",
    )
    group.params = [p for p in group.params if p.name not in _FLASK_OPTIONS]
    click.version_option(__version__, prog_name="pishkhan-gateway")(group)
    return group


def main() -> None:
    """Entry point of ``pishkhan-gateway``."""
    build().main(prog_name="pishkhan-gateway")


if __name__ == "__main__":
    main()
