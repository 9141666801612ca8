"""The TLS context for https:// upstreams: verified against the system's CA store, shared by every client.

Built once and lazily (loading the CA store takes milliseconds and memory; plain-http deployments never need
it). `ssl.create_default_context()` verifies certificates and host names and honours SSL_CERT_FILE /
SSL_CERT_DIR, so an operator can trust a private CA without a code change."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()
