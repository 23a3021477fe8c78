"""A webhook goes to the address the target check approved, even if DNS answers otherwise later."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from doseline.testing.plugin import TokenFactory
from notifications.deliveries.pinning import PinnedTransport
from notifications.deliveries.service import Dispatcher
from notifications.settings import NotificationsSettings
from notifications.subscriptions.models import Subscription

from .conftest import Receiver, append, deliveries, dlt_confirmed, subscribe

HOOK_HOST = "hooks.rebind.test"  # .test never resolves (RFC 6761): only the pin can reach it


class RebindingResolver:
    """Answers the loopback receiver first, then an internal address, as a rebinding DNS does."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, _port: int) -> list[str]:
        self.asked.append(host)
        return ["127.0.0.1"] if len(self.asked) == 1 else ["169.254.169.254"]


def _point_subscription_at(log_db: sessionmaker[Session], subscription_id: str, url: str) -> None:
    # Saved through the API with the receiver's address; renamed here, since the API checks the
    # name with the machine's own resolver, which knows nothing of the test name.
    with log_db() as session, session.begin():
        session.execute(
            update(Subscription).where(Subscription.id == UUID(subscription_id)).values(url=url)
        )


def test_a_delivery_connects_to_the_checked_address_and_a_rebound_name_is_refused_next_time(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    fast_settings: NotificationsSettings,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    port = urlsplit(receiver.url).port
    _point_subscription_at(log_db, subscription["id"], f"http://{HOOK_HOST}:{port}/hooks/dlt")
    resolver = RebindingResolver()
    dispatcher = Dispatcher(fast_settings, resolve=resolver)
    try:
        append(log_db, dlt_confirmed(1))
        dispatcher.drain(log_db)
        [received] = receiver.wait_for(1)
        assert received.headers["host"] == f"{HOOK_HOST}:{port}"
        assert resolver.asked == [HOOK_HOST]  # one lookup: the check's; the connection reused it

        append(log_db, dlt_confirmed(2))
        dispatcher.drain(log_db)
    finally:
        dispatcher.close()
    assert len(receiver.received) == 1
    [refused] = [
        d for d in deliveries(client, auth, subscription["id"]) if d["status"] != "delivered"
    ]
    assert "target refused" in refused["last_error"]
    assert "169.254.169.254" in refused["last_error"]


# --- HTTPS: the pinned connection still says and verifies the host name ------------------------


@dataclass
class TlsReceiver:
    url: str
    authority: ssl.SSLContext
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, pem


@pytest.fixture
def tls_receiver_for(tmp_path: Path) -> Iterator[Callable[[str], TlsReceiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(certificate_name: str) -> TlsReceiver:
        cert_path, key_path, pem = _certificate(tmp_path, certificate_name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        holder: dict[str, TlsReceiver] = {}

        def remember_name(_socket: ssl.SSLObject, name: str | None, _context: Any) -> None:
            holder["receiver"].server_names.append(name)

        context.sni_callback = remember_name

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                holder["receiver"].hosts.append(self.headers["host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        authority = ssl.create_default_context(cadata=pem.decode())
        holder["receiver"] = TlsReceiver(
            url=f"https://{HOOK_HOST}:{server.server_address[1]}/hooks/dlt", authority=authority
        )
        return holder["receiver"]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _deliver_over_tls(
    receiver: TlsReceiver,
    *,
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    settings: NotificationsSettings,
) -> dict[str, Any]:
    port = urlsplit(receiver.url).port
    subscription = subscribe(client, auth, f"http://127.0.0.1:{port}/hooks/dlt")
    _point_subscription_at(log_db, subscription["id"], receiver.url)
    dispatcher = Dispatcher(
        settings,
        client=httpx.Client(transport=PinnedTransport(verify=receiver.authority), timeout=5.0),
        resolve=lambda _host, _port: ["127.0.0.1"],
    )
    try:
        append(log_db, dlt_confirmed(1))
        dispatcher.drain(log_db)
    finally:
        dispatcher.close()
    delivery: dict[str, Any] = deliveries(client, auth, subscription["id"])[0]
    return delivery


def test_an_https_delivery_to_the_pinned_address_sends_and_verifies_the_host_name(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    fast_settings: NotificationsSettings,
    tls_receiver_for: Callable[[str], TlsReceiver],
) -> None:
    receiver = tls_receiver_for(HOOK_HOST)
    delivery = _deliver_over_tls(
        receiver, client=client, auth=auth, log_db=log_db, settings=fast_settings
    )
    assert delivery["status"] == "delivered", delivery
    assert receiver.server_names == [HOOK_HOST]
    assert receiver.hosts == [f"{HOOK_HOST}:{urlsplit(receiver.url).port}"]


def test_an_https_endpoint_whose_certificate_names_another_host_gets_nothing(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    fast_settings: NotificationsSettings,
    tls_receiver_for: Callable[[str], TlsReceiver],
) -> None:
    receiver = tls_receiver_for("somewhere-else.test")
    delivery = _deliver_over_tls(
        receiver, client=client, auth=auth, log_db=log_db, settings=fast_settings
    )
    assert delivery["status"] != "delivered"
    assert "certificate" in delivery["last_error"].lower()
    assert receiver.hosts == []
