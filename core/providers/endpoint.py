"""Where a deployment's requests go and how: its base URL, credentials, proxy and TLS, resolved once at startup.

Credentials in api_base (`https://user:pass@host/v1`) are sent as HTTP Basic auth and never appear in the
request line or the Host header; with an api_key as well the two would compete for the Authorization header, so
that configuration is refused at startup.

Proxies come from the environment as curl and requests read it (HTTP_PROXY / HTTPS_PROXY / NO_PROXY, lower
case first), through the standard library's own parser. They are resolved here once, not per request: aiohttp's
`trust_env=True` would do it per request in two worker-thread hops (netrc and the proxy lookup), which costs more
CPU than the rest of the upstream call. A change to those variables applies at the next start."""

from __future__ import annotations

import ssl
import urllib.request
from dataclasses import dataclass
from typing import Final

from aiohttp import encode_basic_auth
from yarl import URL

from core.providers.tls import ssl_for
from core.routing.deployment import Deployment
from core.settings import DEFAULT_API_BASES, ConfigError

_PROXY_SCHEMES: Final = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class Endpoint:
    base_url: URL  # without credentials, without a trailing slash
    origin: str  # scheme://host:port, safe to log
    authorization: str | None  # "Basic ..." from credentials in api_base
    proxy: URL | None
    # Proxy-Authorization from credentials in the proxy URL: sent with the CONNECT of an https:// upstream,
    # or as a header of each request to an http:// one (which the proxy receives in full).
    proxy_authorization: str | None
    ssl: ssl.SSLContext | bool
    # Every credential above in the forms an upstream or proxy might echo back (the raw password as well as
    # the encoded header), for scrubbing error text.
    secrets: tuple[str, ...] = ()

    def url(self, path: str) -> URL:
        """The absolute URL of `path` ("/chat/completions") under the base, built once by the caller."""
        return URL(str(self.base_url) + path)


def endpoint_of(deployment: Deployment) -> Endpoint:
    """Raises ConfigError for an api_base that is not http(s), or that has credentials and an api_key."""
    where = f"model {deployment.model_name!r}"
    raw = (deployment.api_base or DEFAULT_API_BASES[deployment.provider]).rstrip("/")
    try:
        url = URL(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: api_base is not a URL ({exc})") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{where}: api_base must be an http:// or https:// URL")
    authorization = None
    secrets: list[str] = []
    if url.user is not None or url.password is not None:
        if deployment.api_key:
            raise ConfigError(
                f"{where}: api_base carries a user name and password and api_key is set as well; both would be "
                "sent in the Authorization header, so keep only one"
            )
        authorization = encode_basic_auth(url.user or "", url.password or "")
        secrets += [authorization, authorization.removeprefix("Basic "), url.password or ""]
        url = url.with_user(None)
    proxy, proxy_authorization, proxy_password = _env_proxy(url)
    if proxy_authorization:
        secrets += [proxy_authorization, proxy_authorization.removeprefix("Basic "), proxy_password]
    params = deployment.config.litellm_params
    tls = ssl_for(params, where) if url.scheme == "https" else True
    return Endpoint(
        base_url=url,
        origin=f"{url.scheme}://{url.host}:{url.port}",
        authorization=authorization,
        proxy=proxy,
        proxy_authorization=proxy_authorization,
        ssl=tls,
        secrets=tuple(s for s in secrets if s),
    )


def _env_proxy(url: URL) -> tuple[URL | None, str | None, str]:
    """(the proxy for `url` from HTTP(S)_PROXY unless NO_PROXY exempts its host, its Proxy-Authorization,
    its raw password)."""
    host = url.host or ""
    if urllib.request.proxy_bypass(host):
        return None, None, ""
    raw = urllib.request.getproxies().get(url.scheme)
    if not raw:
        return None, None, ""
    proxy = URL(raw if "://" in raw else f"http://{raw}")
    if proxy.scheme not in _PROXY_SCHEMES:
        raise ConfigError(f"the {url.scheme} proxy from the environment must be an http(s):// URL, not {proxy}")
    if proxy.user is None:
        return proxy, None, ""
    return proxy.with_user(None), encode_basic_auth(proxy.user, proxy.password or ""), proxy.password or ""
