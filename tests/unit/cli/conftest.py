"""A fake of the tenancy stubs for running CLI verbs without a channel: it records requests and replays canned
responses (one per call, in order). Every service attribute (`admin.orgs`, `admin.teams`, ...) is the fake
itself, since RPC names are unique across the tenancy services."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import pytest

SERVICES = ("orgs", "users", "teams", "tokens", "service_accounts")


class FakeAdmin:
    def __init__(self) -> None:
        self.requests: dict[str, list[Any]] = defaultdict(list)
        self._responses: dict[str, deque[Any]] = defaultdict(deque)

    def will_return(self, method: str, *responses: Any) -> None:
        self._responses[method].extend(responses)

    def __getattr__(self, method: str) -> Any:
        if method in SERVICES:
            return self
        if not method[:1].isupper():
            raise AttributeError(method)

        def call(request: Any) -> Any:
            self.requests[method].append(request)
            response = self._responses[method].popleft()
            if isinstance(response, BaseException):
                raise response
            return response

        return call


@pytest.fixture
def fake_admin() -> FakeAdmin:
    return FakeAdmin()
