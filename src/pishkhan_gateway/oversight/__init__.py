"""What supervisors ask of the record: searches and streamed exports (``search``), office and
agency scorecards (``scorecards``), licence actions (``licences``), and their reads recorded and
proofs in scope (``records``). Every query carries the supervisor's scope."""

from pishkhan_gateway.oversight.licences import ACTIONS, licence_action
from pishkhan_gateway.oversight.records import inclusion, log_access, province_of
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
    "daily",
    "export",
    "inclusion",
    "licence_action",
    "log_access",
    "parse_moment",
    "province_of",
    "scorecard",
    "scorecard_of_agency",
    "search",
]
