"""``witness serve`` (a C2SP tlog-witness for a working group or the regulator) and
``log publish DIR`` (the log as static C2SP tiles for any web server or CDN)."""

from __future__ import annotations

import socket
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask.cli import AppGroup
from werkzeug.serving import make_server

from pishkhan_gateway.auditlog import notes, tiles, witnessing
from pishkhan_gateway.auditlog.witness import State, Witness
from pishkhan_gateway.commands.common import gateway
from pishkhan_gateway.crypto import keyfiles
from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.web.api.witness import make_app

witness_cli = AppGroup("witness", help="Run a witness of the log (C2SP tlog-witness).")
log_cli = AppGroup("log", help="The log as C2SP tiles.")


def _private_key(path: Path) -> Ed25519PrivateKey:
    Signer.from_file(path)  # created on first use, mode 0600, like the gateway's own key
    key = serialization.load_pem_private_key(keyfiles.read_private(path), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


KEY_FILE = click.Path(dir_okay=False, path_type=Path)


@witness_cli.command("serve")
@click.option(
    "--key", "key_file", required=True, type=KEY_FILE,
    help="The witness's Ed25519 private key (PEM; made on first use, mode 0600)",
)  # fmt: skip
@click.option(
    "--log-key", "log_keys", required=True, multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The log's public key (PEM, GET /v1/audit/public-key); repeat for rotated-out keys",
)  # fmt: skip
@click.option("--origin", default=None, help="The log's origin (default PISHKHAN_LOG_ORIGIN)")
@click.option("--name", default=None, help="This witness's key name (default witness/<host>)")
@click.option(
    "--state", "state_file", default=None, type=KEY_FILE,
    help="Where the cosigned sizes are kept (default: beside the key, .state.db)",
)  # fmt: skip
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8090, type=int)
def witness_serve(
    key_file: Path,
    log_keys: tuple[Path, ...],
    origin: str | None,
    name: str | None,
    state_file: Path | None,
    host: str,
    port: int,
) -> None:
    """Cosign each checkpoint of the log that is consistent with the last one cosigned."""
    origin = origin or str(current_app.config["LOG_ORIGIN"])
    name = name or f"witness/{socket.gethostname()}"
    verifiers = []
    for path in log_keys:
        public = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(public, Ed25519PublicKey):
            raise click.BadParameter(f"{path} is not an Ed25519 public key", param_hint="--log-key")
        verifiers.append(notes.Verifier(origin, notes.ED25519, public))
    state = State(state_file or key_file.with_suffix(".state.db"))
    witness = Witness(_private_key(key_file), name, {origin: verifiers}, state)
    click.echo(f"witness {name} for {origin} on http://{host}:{port}")
    click.echo(f"vkey {witness.verifier.vkey}")
    make_server(host, port, make_app(witness), threaded=True).serve_forever()


@log_cli.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def log_publish(directory: Path) -> None:
    """Write the latest checkpoint and every tile under it to DIRECTORY (``checkpoint``,
    ``tile/…``): serve it from any web server or CDN; tiles never change."""
    gw = gateway()
    gw.sealer.seal_all()
    written = 0
    with gw.store.read() as session:
        latest = witnessing.latest_checkpoint(session)
        if latest is None:
            raise click.ClickException("the log has no checkpoint yet")
        for tile in tiles.tiles_of(latest.tree_size):
            target = directory / tile.path
            if tile.width == tiles.WIDTH and target.exists():
                continue  # a full tile never changes
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tiles.read(session, tile, latest.tree_size))
            written += 1
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "checkpoint").write_text(latest.note + latest.cosignatures)
    click.echo(f"checkpoint of size {latest.tree_size} and {written} tiles written to {directory}")
