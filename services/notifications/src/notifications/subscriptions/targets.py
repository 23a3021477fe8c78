"""Which webhook URLs may be called: no private, loopback or otherwise internal targets (SSRF).

The host is resolved and every address must be public, or lie in a network the settings
allow-list. The check runs when a subscription is saved and again before every attempt, so a
name that later resolves to an internal address (DNS rebinding) is refused at delivery time.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

Network = IPv4Network | IPv6Network
Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    """The URL is not a webhook target Doseline will call; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"the host {host!r} does not resolve: {error}") from None
    return sorted({str(info[4][0]) for info in infos})


def _internal(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_target(
    url: str, *, allowed: Sequence[Network], resolve: Resolver = system_resolver
) -> Target:
    """The parsed target, or TargetRefused saying what to change."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise TargetRefused("the URL must start with https:// (or http:// for allow-listed hosts)")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("put no credentials in the URL; deliveries are signed instead")
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from None
    addresses = resolve(host, port)
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    all_allow_listed = True
    for text in addresses:
        address = ip_address(text.split("%", 1)[0])
        if any(address in network for network in allowed):
            continue
        all_allow_listed = False
        if _internal(address):
            raise TargetRefused(
                f"{host!r} resolves to {address}, a private, loopback, link-local, multicast "
                "or reserved address; webhooks go to public endpoints only unless the "
                "address is allow-listed in the settings"
            )
    if parts.scheme == "http" and not all_allow_listed:
        raise TargetRefused("public endpoints must use https://")
    return Target(url=url, host=host, port=port, addresses=tuple(addresses))
