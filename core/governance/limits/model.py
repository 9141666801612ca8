"""The vocabulary of rate limiting: dimensions, levels, limit values, and one check of one request.

Requests are counted in millionths (REQUEST_UNITS per request) so that a model's request_limit_multiplier
can make a request count 1/m exactly enough: with m = 3 a limit of 1000 admits exactly 3000 requests."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The window every limit is measured over. The name of every limit says "per minute".
WINDOW_SECONDS = 60
# Resolution of the sliding window: amounts are kept per slot of this length, and a slot leaves the window
# WINDOW_SECONDS after it began, so the window slides every second and never resets at a boundary.
SLOT_MS = 1000
WINDOW_SLOTS = WINDOW_SECONDS * 1000 // SLOT_MS
REQUEST_UNITS = 1_000_000


class Dimension(enum.IntEnum):
    """Index of each counted amount; the order is the storage layout of both backends."""

    REQUESTS = 0
    INPUT_TOKENS = 1
    OUTPUT_TOKENS = 2
    TOTAL_TOKENS = 3


DIMENSIONS = tuple(Dimension)
TOKEN_DIMENSIONS = (Dimension.INPUT_TOKENS, Dimension.OUTPUT_TOKENS, Dimension.TOTAL_TOKENS)

DIMENSION_LABELS = {
    Dimension.REQUESTS: "requests per minute",
    Dimension.INPUT_TOKENS: "input tokens per minute",
    Dimension.OUTPUT_TOKENS: "output tokens per minute",
    Dimension.TOTAL_TOKENS: "tokens per minute",
}
# The names used in ErrorInfo metadata and the CLI.
DIMENSION_NAMES = {
    Dimension.REQUESTS: "rpm",
    Dimension.INPUT_TOKENS: "input_tpm",
    Dimension.OUTPUT_TOKENS: "output_tpm",
    Dimension.TOTAL_TOKENS: "tpm",
}


class Level(enum.StrEnum):
    """Where a limit is set, as the 429 message and ErrorInfo metadata name it."""

    MEMBER = "member"  # the per-member limit: the user's own, else the org's (team's for service accounts)
    TOKEN = "token"
    ORG_POOL = "org"  # all traffic of the org together
    TEAM_POOL = "team"  # all traffic of the team's service accounts together
    MODEL = "model"  # litellm_params rpm / tpm: all traffic to the model


class ScopeKind(enum.StrEnum):
    ORG = "org"
    TEAM = "team"
    USER = "user"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class LimitValues:
    """Limits of one scope; None means not limited here."""

    rpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None

    def is_empty(self) -> bool:
        return self.rpm is None and self.input_tpm is None and self.output_tpm is None

    def over(self, fallback: LimitValues) -> LimitValues:
        """Field by field: this value where set, else the fallback's (a user's own limit over the org's)."""
        return LimitValues(
            rpm=self.rpm if self.rpm is not None else fallback.rpm,
            input_tpm=self.input_tpm if self.input_tpm is not None else fallback.input_tpm,
            output_tpm=self.output_tpm if self.output_tpm is not None else fallback.output_tpm,
        )


NO_LIMITS = LimitValues()
NONE = -1  # "no limit in this dimension" in the backends' integer arrays


@dataclass(frozen=True, slots=True)
class Check:
    """One window a request must fit into. `limits` and `costs` are indexed by Dimension; limits use NONE for
    an unlimited dimension and requests are in REQUEST_UNITS. `source` names where each limit was set (the
    org, team or user whose setting applies) for the 429 message."""

    key: str
    level: Level
    subject: str  # who is counted: "user a@b.c", "token 'laptop'", "org acme", "model gpt-4o"
    limits: tuple[int, int, int, int]
    costs: tuple[int, int, int, int]
    sources: tuple[str, str, str, str] = ("", "", "", "")
    # What must have room when it differs from `costs`: output tokens are reserved (counted) but not required
    # to fit (see core.governance.limits.backend).
    needs: tuple[int, int, int, int] | None = None

    def has_limit(self, dim: Dimension) -> bool:
        return self.limits[dim] != NONE
