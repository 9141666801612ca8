"""What the CLI tells a person when something fails: one `error: ...` line, never a traceback."""

from __future__ import annotations

import grpc
from grpc import aio

# Exit statuses: argparse already uses 2 for usage errors.
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Plain words for the status codes a person meets most often; the server's message follows.
_CODE_WORDS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.PERMISSION_DENIED: "permission denied",
    grpc.StatusCode.UNAUTHENTICATED: "not authenticated",
    grpc.StatusCode.NOT_FOUND: "not found",
    grpc.StatusCode.ALREADY_EXISTS: "already exists",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid argument",
    grpc.StatusCode.FAILED_PRECONDITION: "failed precondition",
}


class CliError(Exception):
    """A failure to report as `error: <message>` with the given exit status."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def rpc_status(error: grpc.RpcError) -> tuple[grpc.StatusCode, str] | None:
    """The status code and message of a failed call (sync or asyncio API), if it has them."""
    if isinstance(error, grpc.Call | aio.AioRpcError):
        return error.code(), error.details() or ""
    return None


def describe_rpc_error(error: grpc.RpcError, address: str, timeout: float) -> str:
    status = rpc_status(error)
    if status is None:
        return f"request to core at {address} failed: {error}"
    return describe_status(status[0], status[1], address, timeout)


def describe_status(code: grpc.StatusCode, details: str, address: str, timeout: float) -> str:
    """One line for a failed RPC: the status in plain words plus the server's message."""
    details = details.strip()
    if code is grpc.StatusCode.UNAVAILABLE:
        reason = f" ({details})" if details else ""
        return f"cannot reach Aqueduct core at {address}{reason}; is it running? (set --core or AQUEDUCT_CORE)"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"Aqueduct core at {address} did not answer within {timeout:g} seconds"
    word = _CODE_WORDS.get(code)
    if code is grpc.StatusCode.UNAUTHENTICATED:
        hint = " (check AQUEDUCT_ADMIN_TOKEN, AQUEDUCT_TOKEN or --token)"
        return f"{word}: {details or 'the token was rejected'}{hint}"
    if word is None:
        return details or f"request failed with status {code.name}"
    if not details:
        return word
    # Servers often start the message with the same words already; say them only once.
    if details.lower().startswith(word):
        return details
    return f"{word}: {details}"
