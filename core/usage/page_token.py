"""Page tokens of usage reports: where the next page starts, and the range of the first page (whose default
end, "now", must not move between pages), bound to the report's other parameters (AIP-158). A token only
positions a page; what the caller may see is decided again for each page. Pages are offsets into the groups
ordered by requests: a range that is still receiving usage may move a group across a page boundary between
two calls (a past range never changes)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidRequest

FIELD = "page_token"


@dataclass(frozen=True, slots=True)
class ReportPage:
    offset: int
    since: datetime
    until: datetime


def _digest(parameters: tuple[object, ...]) -> str:
    return hashlib.sha256(repr(parameters).encode()).hexdigest()[:16]


def encode(page: ReportPage, parameters: tuple[object, ...]) -> str:
    body = {"o": page.offset, "s": page.since.isoformat(), "u": page.until.isoformat(), "q": _digest(parameters)}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str, parameters: tuple[object, ...]) -> ReportPage:
    """The page a token names; InvalidRequest for a malformed token or one of a report with other parameters."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        page = ReportPage(int(body["o"]), datetime.fromisoformat(body["s"]), datetime.fromisoformat(body["u"]))
        matches = body["q"] == _digest(parameters)
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidRequest("page_token is not a token this report returned", field=FIELD) from None
    if not matches or page.offset < 0:
        raise InvalidRequest("page_token belongs to a report with other parameters", field=FIELD)
    return page
