"""What supervisors ask of the record: searches and streamed exports (``search``), office and
agency scorecards (``scorecards``), licence actions (``licences``), and their reads recorded and
proofs in scope (``records``). Every query carries the supervisor's scope."""

from pishkhan_gateway.oversight.licences import ACTIONS, licence_action, revoke_supervisor_key
from pishkhan_gateway.oversight.records import (
    consistency,
    entries_in_scope,
    inclusion,
    latest_head_document,
    log_access,
    offices_in_scope,
    province_of,
    reveal,
    transaction_detail,
    tree_head,
)
from pishkhan_gateway.oversight.scorecards import (
    AGENCY_ERROR_CODES,
    IDENTITY_CODES,
    daily,
    scorecard,
    scorecard_of_agency,
)
from pishkhan_gateway.oversight.search import (
    EXPORT_COLUMNS,
    MAX_PAGE,
    Filters,
    audit_view,
    export,
    parse_moment,
    search,
)

__all__ = [
    "ACTIONS",
    "AGENCY_ERROR_CODES",
    "EXPORT_COLUMNS",
    "IDENTITY_CODES",
    "MAX_PAGE",
    "Filters",
    "audit_view",
    "consistency",
    "daily",
    "entries_in_scope",
    "export",
    "inclusion",
    "latest_head_document",
    "licence_action",
    "log_access",
    "offices_in_scope",
    "parse_moment",
    "province_of",
    "reveal",
    "revoke_supervisor_key",
    "scorecard",
    "scorecard_of_agency",
    "search",
    "transaction_detail",
    "tree_head",
]
