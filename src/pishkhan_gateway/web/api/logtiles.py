"""The log for standard transparency tooling (C2SP ``tlog-tiles``, ``tlog-checkpoint``):
``GET /log/checkpoint`` and ``GET /log/tile/…``, public like the tree head. Tiles never change,
so they are served with a year's ``Cache-Control: immutable``; the checkpoint changes with every
seal and is not cached. ``pishkhan-gateway log publish DIR`` writes the same files for any web
server or CDN."""

from __future__ import annotations

from flask import Blueprint, Response

from pishkhan_gateway.auditlog import tiles, witnessing
from pishkhan_gateway.errors import NotFound, NotSealedYet
from pishkhan_gateway.web.operations import PUBLIC, Call, operation

bp = Blueprint("logtiles", __name__, url_prefix="/log")
IMMUTABLE = "public, max-age=31536000, immutable"
TAGS = ("log",)


@operation(
    bp,
    "GET",
    "/checkpoint",
    summary="The latest C2SP checkpoint, with its cosignatures",
    audience=PUBLIC,
    tags=TAGS,
    response={"type": "string"},
    other_content={"text/plain": "a signed note (C2SP tlog-checkpoint)"},
    problems=(NotSealedYet,),
)
def checkpoint(call: Call) -> Response:
    """The latest checkpoint: a signed note, with the witnesses' cosignatures gathered so far."""
    with call.gateway.store.read() as session:
        latest = witnessing.latest_checkpoint(session)
    if latest is None:
        raise NotSealedYet("the log has no checkpoint yet")
    return Response(
        latest.note + latest.cosignatures,
        mimetype="text/plain",
        headers={"Cache-Control": "no-cache"},
    )


@operation(
    bp,
    "GET",
    "/tile/<path:path>",
    summary="A hash tile or entry bundle (C2SP tlog-tiles)",
    audience=PUBLIC,
    tags=TAGS,
    response={"type": "string"},
    other_content={"application/octet-stream": "the tile's bytes (immutable)"},
    problems=(NotFound,),
)
def tile(call: Call) -> Response:
    """A hash tile or an entry bundle under the latest checkpoint (``path`` is the C2SP
    tile path, slashes included: ``0/x001/234``, ``entries/000``, ``1/000.p/17``)."""
    path = call.path["path"]
    try:
        wanted = tiles.parse(path)
        with call.gateway.store.read() as session:
            latest = witnessing.latest_checkpoint(session)
            if latest is None:
                raise tiles.TileNotFound(path)
            data = tiles.read(session, wanted, latest.tree_size)
    except tiles.TileNotFound:
        raise NotFound(f"no tile {path} under the latest checkpoint") from None
    return Response(data, mimetype="application/octet-stream", headers={"Cache-Control": IMMUTABLE})
