"""Usage recording and reporting."""

from core.usage.events import UsageEvent, UsageSink

__all__ = ["UsageEvent", "UsageSink"]
