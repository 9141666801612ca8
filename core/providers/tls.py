"""TLS to an https:// upstream, per deployment, from LiteLLM's litellm_params names.

`ssl_verify`: true (default; the system CA store, which honours SSL_CERT_FILE / SSL_CERT_DIR), false (no
verification: a warning is logged at startup) or the path of a CA bundle (PEM) to verify against instead.
`ssl_certificate`: a client certificate (PEM) for upstreams that require one; its private key is in the same
file (as LiteLLM and httpx read it) unless `ssl_certificate_key` names the key's file.

Contexts are built once per distinct setting and shared, so deployments on one origin with the same TLS
settings share their pooled connections (the pool keys connections by context)."""

from __future__ import annotations

import functools
import logging
import ssl

from core.settings import ConfigError, LiteLLMParams

log = logging.getLogger("aqueduct.core.providers")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def ssl_for(params: LiteLLMParams, where: str) -> ssl.SSLContext | bool:
    """What aiohttp's `ssl=` takes for this deployment: True for the default verified context, False for no
    verification, or a context with a custom CA bundle and/or a client certificate. Raises ConfigError
    (naming `where`) when a file cannot be loaded, so a bad path stops startup rather than every request."""
    verify = _verify_setting(params.ssl_verify, where)
    cert, key = params.ssl_certificate, params.ssl_certificate_key
    if key and not cert:
        raise ConfigError(f"{where}: litellm_params.ssl_certificate_key needs ssl_certificate")
    if verify is False:
        log.warning("%s: TLS certificate verification of the upstream is turned off (ssl_verify: false)", where)
    if cert is None and not isinstance(verify, str):
        return verify
    try:
        return _context(verify, cert, key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot load the TLS files of litellm_params ({exc})") from exc


def _verify_setting(raw: bool | str | None, where: str) -> bool | str:
    """LiteLLM accepts "true"/"false" as strings too (they arrive so from os.environ/ references)."""
    if raw is None:
        return True
    if isinstance(raw, bool):
        return raw
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if not raw.strip():
        raise ConfigError(f"{where}: litellm_params.ssl_verify is empty")
    return raw


@functools.cache
def _context(verify: bool | str, cert: str | None, key: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(cert, key)
    return context
