"""DeploymentStatus (core/routing/health.py) -> the aqueduct.v1.Deployment message."""

from __future__ import annotations

from aqueduct.v1 import model_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from core.routing.health import DeploymentStatus


def deployment_message(status: DeploymentStatus) -> model_pb2.Deployment:
    d = status.deployment
    message = model_pb2.Deployment(
        id=d.id,
        model=d.model_name,
        provider=d.provider,
        upstream_model=d.upstream_model,
        state=model_pb2.DEPLOYMENT_STATE_COOLING_DOWN if status.cooling_down else model_pb2.DEPLOYMENT_STATE_HEALTHY,
        in_flight=status.in_flight,
        error_rate=status.error_rate,
        requests_last_minute=status.requests_last_minute,
        failures_last_minute=status.failures_last_minute,
        tokens_last_minute=status.tokens_last_minute,
        weight=d.weight,
    )
    if status.cooldown_until_unix is not None:
        until = Timestamp()
        until.FromNanoseconds(int(status.cooldown_until_unix * 1e9))
        message.cooldown_until.CopyFrom(until)
    if status.latency_ms is not None:
        message.latency_ms = status.latency_ms
    if d.rpm is not None:
        message.rpm = d.rpm
    if d.tpm is not None:
        message.tpm = d.tpm
    if status.max_parallel_requests is not None:
        message.max_parallel_requests = status.max_parallel_requests
    return message
