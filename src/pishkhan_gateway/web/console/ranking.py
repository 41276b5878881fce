"""The console's evaluation pages: the evaluations with their windows, and the ranking of a
province per location category — Persian names throughout. The same functions as the API
(``web/api/evaluation.py``); the routes hang on the console's blueprint (``console.py``)."""

from __future__ import annotations

from flask import g, render_template, request

from pishkhan_gateway.errors import Forbidden, GatewayError
from pishkhan_gateway.pricing.catalog import CATEGORY_FA
from pishkhan_gateway.registry import regions
from pishkhan_gateway.regulation import evaluation
from pishkhan_gateway.web.console.base import bp, signed_in
from pishkhan_gateway.web.current import gateway

ITEM_FA = {
    "floor_space_m2": "فضای دفتر",
    "staff": "کارکنان",
    "accessibility": "امکانات جانبازان، معلولان و سالمندان",
    "experience_years": "سابقه دارنده پروانه",
    "equipment": "تجهیزات",
    "association": "امتیاز انجمن استانی",
    "volume": "حجم خدمات",
    "services": "تنوع خدمات",
    "over_cap_refusals": "دریافت بیش از تعرفه",
    "violations": "امتیاز منفی تخلفات",
    "complaints": "شکایت شهروندان",
    "satisfaction": "رضایت شهروندان",
}


@bp.get("/evaluations")
@signed_in("evaluations")
def evaluations_list() -> str:
    rows = evaluation.listing(gateway().store)
    return render_template(
        "console/evaluations.html", scope=g.scope, evaluations=rows, WINDOW_FA=evaluation.WINDOW_FA
    )


@bp.get("/evaluations/<evaluation_id>/ranking")
@signed_in("evaluation_ranking")
def evaluation_ranking(evaluation_id: str) -> str:
    scope = g.scope
    provinces = sorted(scope.provinces or [p for ps in regions.regions().values() for p in ps])
    province = request.args.get("province") or (provinces[0] if provinces else "")
    if scope.role == "agency" or not scope.oversees(province):
        raise Forbidden(f"{province} is outside your scope ({scope.label})")
    gw = gateway()
    try:
        board = evaluation.results(
            gw.store, evaluation_id, province, None, len(gw.plugins.catalog())
        )
        waiting = None
    except GatewayError as error:
        if error.code != "evaluation_window_closed":
            raise
        board, waiting = None, error
    return render_template(
        "console/ranking.html",
        scope=scope,
        evaluation_id=evaluation_id,
        province=province,
        provinces=provinces,
        board=board,
        waiting=waiting,
        CATEGORY_FA=CATEGORY_FA,
        ITEM_FA=ITEM_FA,
        WINDOW_FA=evaluation.WINDOW_FA,
    )
