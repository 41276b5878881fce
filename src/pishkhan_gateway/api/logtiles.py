"""The log for standard transparency tooling (C2SP ``tlog-tiles``, ``tlog-checkpoint``):
``GET /log/checkpoint`` and ``GET /log/tile/…``, public like the tree head. Tiles never change,
so they are served with a year's ``Cache-Control: immutable``; the checkpoint changes with every
seal and is not cached. ``pishkhan-gateway log publish DIR`` writes the same files for any web
server or CDN."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from pishkhan_gateway.auditlog import tiles, witnessing
from pishkhan_gateway.errors import NotFound, NotSealedYet
from pishkhan_gateway.gateway import Gateway

bp = Blueprint("logtiles", __name__, url_prefix="/log")
IMMUTABLE = "public, max-age=31536000, immutable"


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


@bp.get("/checkpoint")
def checkpoint() -> Response:
    """The latest checkpoint: a signed note, with the witnesses' cosignatures gathered so far."""
    with _gateway().store.read() as session:
        latest = witnessing.latest_checkpoint(session)
    if latest is None:
        raise NotSealedYet("the log has no checkpoint yet")
    return Response(
        latest.note + latest.cosignatures,
        mimetype="text/plain",
        headers={"Cache-Control": "no-cache"},
    )


@bp.get("/tile/<path:path>")
def tile(path: str) -> Response:
    """A hash tile or an entry bundle under the latest checkpoint."""
    try:
        wanted = tiles.parse(path)
        with _gateway().store.read() as session:
            latest = witnessing.latest_checkpoint(session)
            if latest is None:
                raise tiles.TileNotFound(path)
            data = tiles.read(session, wanted, latest.tree_size)
    except tiles.TileNotFound:
        raise NotFound(f"no tile {path} under the latest checkpoint") from None
    return Response(data, mimetype="application/octet-stream", headers={"Cache-Control": IMMUTABLE})
