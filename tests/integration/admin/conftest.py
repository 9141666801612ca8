"""Fixtures of the tenancy gRPC tests (tenancy_replicas.py)."""

from tests.integration.admin.tenancy_replicas import replica, replicas

__all__ = ["replica", "replicas"]
