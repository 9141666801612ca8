"""Rate limits: exact sliding-window admission across replicas (Redis) or in one process, settled with the
real token counts. Public: Admission, Reservation (`admission`), LimitsAdmin (`admin`), start_governance /
GovernanceRuntime (`runtime`), response_metadata (`headers`)."""

from core.governance.limits.admission import Admission, Reservation
from core.governance.limits.headers import response_metadata

__all__ = ["Admission", "Reservation", "response_metadata"]
