"""Webhook connections go to the address the SSRF check approved, never to a second lookup.

`check_target` resolves the host and refuses internal addresses; if the connection then looked
the name up again, a DNS answer changed in between (rebinding) could still reach an internal
address. So the check's addresses are pinned for the request (`pinned`), and the transport's
network backend connects to them instead of resolving the host. The URL keeps its host name:
the Host header, TLS SNI and certificate verification all still use the name, and the
connection pool keeps connections per host name. A host that was not checked is not connected.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

from notifications.subscriptions.targets import Target

_PINS: ContextVar[Mapping[tuple[str, int], tuple[str, ...]] | None] = ContextVar(
    "webhook_pinned_addresses", default=None
)


@contextmanager
def pinned(target: Target) -> Iterator[None]:
    """Within the block, connections to the target's host go to its checked addresses only."""
    # Keyed as the transport will see the host: IDNA-encoded, lower case, IPv6 without brackets.
    host = httpx.URL(target.url).raw_host.decode("ascii").lower()
    token = _PINS.set({(host, target.port): target.addresses})
    try:
        yield
    finally:
        _PINS.reset(token)


class PinnedBackend(httpcore.SyncBackend):
    """Connects to the pinned addresses of a host, in order, instead of resolving its name."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = (_PINS.get() or {}).get((host.lower(), port))
        if not addresses:
            raise httpcore.ConnectError(
                f"{host}:{port} was not checked before connecting; webhook connections go "
                "only to addresses the target check approved"
            )
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure or httpcore.ConnectError(f"{host}:{port}: no address to connect to")


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with the pinned network backend; no proxies (they would resolve)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )
