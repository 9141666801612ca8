"""The fake upstream over TLS on 127.0.0.1, with a throwaway self-signed certificate (CA and server in one)
for `localhost` and 127.0.0.1, made with `cryptography` into a temporary directory."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.fake_upstream import FakeUpstreamApp, FakeUpstreamConfig

STARTUP_SECONDS = 10.0


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """(certificate PEM, key PEM) valid for an hour."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aqueduct test upstream")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "upstream.crt", directory / "upstream.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TLSFakeUpstream:
    """The fake upstream's ASGI app on uvicorn with TLS, in a background thread."""

    def __init__(self, directory: Path, config: FakeUpstreamConfig | None = None) -> None:
        self.cert_path, key_path = self_signed_cert(directory)
        self.app = FakeUpstreamApp(config)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                http="httptools",
                lifespan="off",
                access_log=False,
                log_level="warning",
                ws="none",
                timeout_graceful_shutdown=1,
                ssl_certfile=str(self.cert_path),
                ssl_keyfile=str(key_path),
            )
        )
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def base_url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}/v1"

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def __enter__(self) -> TLSFakeUpstream:
        self._thread.start()
        for _ in range(int(STARTUP_SECONDS / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            self.__exit__()
            raise RuntimeError("TLS fake upstream did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()
