"""Rate limits: exact sliding-window admission across replicas (Redis) or in one process, settled with the
real token counts. Public: Admission, Reservation (`admission`), LimitsAdmin (`admin`), start_governance /
GovernanceRuntime (`runtime`)."""

from core.governance.limits.admission import Admission, Reservation

__all__ = ["Admission", "Reservation"]
