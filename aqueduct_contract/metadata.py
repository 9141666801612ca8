"""gRPC metadata keys: what the façade forwards with each call, and what core answers with.

Request metadata (façade -> core). Core believes the client address, user agent and endpoint only from a
caller that presents the façade's credential (FACADE_CREDENTIAL); for anyone else it records the gRPC peer and
the caller's own user agent. Response metadata (core -> caller): sent by core as *initial* metadata once the upstream
accepted the request, for unary calls and streams alike; the façade copies these pairs to the HTTP response
headers under the same names."""

from __future__ import annotations

# --- request metadata
AUTHORIZATION = "authorization"  # "Bearer <token>"
REQUEST_ID = "x-request-id"  # echoed to the HTTP client; labels logs and usage records
USER_AGENT = "x-aqueduct-user-agent"  # the HTTP client's User-Agent
CLIENT_ADDR = "x-aqueduct-client-addr"  # the HTTP client's address
ENDPOINT = "x-aqueduct-endpoint"  # the OpenAI endpoint in its /v1 form: "POST /v1/chat/completions"
FACADE_CREDENTIAL = "x-aqueduct-facade-credential"  # the façade's shared secret (settings.facade_secret)

# --- response metadata
MODEL_GROUP = "x-aqueduct-model-group"  # the model group (model_list name) that answered
DEPLOYMENT = "x-aqueduct-deployment"  # the deployment that answered: "<model_name>#<index in model_list>"
# OpenAI's rate-limit headers, describing the tightest window the request was checked against.
LIMIT_REQUESTS = "x-ratelimit-limit-requests"
REMAINING_REQUESTS = "x-ratelimit-remaining-requests"
RESET_REQUESTS = "x-ratelimit-reset-requests"
LIMIT_TOKENS = "x-ratelimit-limit-tokens"
REMAINING_TOKENS = "x-ratelimit-remaining-tokens"
RESET_TOKENS = "x-ratelimit-reset-tokens"
RATE_LIMIT_HEADERS = (LIMIT_REQUESTS, REMAINING_REQUESTS, RESET_REQUESTS, LIMIT_TOKENS, REMAINING_TOKENS, RESET_TOKENS)
# "false" on an error that the same request would meet again (the OpenAI SDK then does not retry it).
SHOULD_RETRY = "x-should-retry"
RESPONSE_HEADERS = frozenset({MODEL_GROUP, DEPLOYMENT, SHOULD_RETRY, *RATE_LIMIT_HEADERS})


def is_response_header(key: str) -> bool:
    """Whether a response metadata key is one the façade passes on as an HTTP header."""
    return key in RESPONSE_HEADERS
