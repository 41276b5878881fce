"""The witness's HTTP interface (C2SP ``tlog-witness``): ``POST /add-checkpoint``, and ``GET /``
naming the witness and its cosignature verifier key. The checks are ``auditlog/witness.py``."""

from __future__ import annotations

from flask import Flask, Response, request

from pishkhan_gateway.auditlog.witness import Refused, Witness

MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with its signatures fit many times over
SIZE_TYPE = "text/x.tlog.size"


def make_app(witness: Witness) -> Flask:
    """The witness's HTTP interface: ``POST /add-checkpoint`` (and ``GET /`` naming it)."""
    app = Flask("pishkhan_witness")

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY:
            return Response("the request is too large\n", 413, mimetype="text/plain")
        try:
            line = witness.add_checkpoint(body)
        except Refused as refused:
            if refused.status == 409 and refused.size is not None:
                return Response(f"{refused.size}\n", 409, mimetype=SIZE_TYPE)
            return Response(refused.message + "\n", refused.status, mimetype="text/plain")
        return Response(line, 200, mimetype="text/plain")

    @app.get("/")
    def about() -> Response:
        return Response(
            f"C2SP tlog-witness {witness.name}\n{witness.verifier.vkey}\n", mimetype="text/plain"
        )

    return app
