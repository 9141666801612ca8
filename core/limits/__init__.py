"""Rate limits: exact sliding-window admission across replicas (Redis) or in one process, settled with the
real token counts. Public: Admission, Reservation (core.limits.admission), LimitsAdmin (core.limits.admin),
start_governance / GovernanceRuntime (core.limits.runtime), response_metadata (core.limits.headers)."""

from core.limits.admission import Admission, Reservation
from core.limits.headers import response_metadata

__all__ = ["Admission", "Reservation", "response_metadata"]
