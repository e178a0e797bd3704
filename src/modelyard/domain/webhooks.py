"""What a webhook URL may reach: the rules, without resolving anything.

An alert is an HTTP request the server makes on a user's behalf, so a URL naming the cloud
metadata service, a private network or the server itself would let whoever configures a
policy reach them (server-side request forgery). Webhooks may reach only public addresses
unless the operator's allow-list (``MODELYARD_WEBHOOK_ALLOW``) names the host or network.
Resolving names is I/O and lives in ``modelyard.control.webhooks``; this module parses URLs
and settings and judges addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from modelyard.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "MODELYARD_WEBHOOK_ALLOW"
RESOLVE_SETTING = "MODELYARD_WEBHOOK_RESOLVE"
MAX_URL = 2000
MAX_HOST = 253  # RFC 1035
# Names that mean "this machine" or "this site" wherever they are resolved (RFC 6761,
# RFC 6762, RFC 8375 and ICANN's .internal): no public receiver lives under them.
LOCAL_SUFFIXES = ("localhost", "local", "internal", "home.arpa", "localdomain", "lan")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC = re.compile(r"^[0-9a-fx.]+$")  # 2130706433, 0x7f.1, 0177.0.0.1: IPv4 to libc
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class WebhookUrl:
    """A parsed webhook URL: ``address`` is set when the host is an IP address."""

    url: str
    scheme: str
    host: str  # lower case, no trailing dot, no brackets
    port: int
    address: Address | None

    @property
    def authority(self) -> str:
        """The Host header: the host as written in the URL, with its port if one was given."""
        return urlsplit(self.url).netloc


@dataclass(frozen=True)
class WebhookRules:
    """The operator's exceptions: host names and networks a webhook may reach although
    they are not public, and fixed answers for names (checked like any other answer)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    pinned: Mapping[str, tuple[Address, ...]] = field(default_factory=dict)

    def allows_host(self, host: str) -> bool:
        return host in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(a in n for a in _forms(address) for n in self.networks if a.version == n.version)


def parse_webhook_url(url: str, field: str = "alert") -> WebhookUrl:
    """The syntax every webhook URL must have: http(s), a host, no ``user:pw@``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"{field}: needs an http(s) URL, e.g. https://hooks.example.com/x")
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"{field}: URL longer than {MAX_URL} characters")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput(
            f"{field} {url!r}: the URL must be ASCII without spaces (write names in punycode)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{field} {url!r}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput(f"{field} {url!r}: needs an http(s) URL, e.g. https://hooks.example/x")
    if "@" in parts.netloc:
        raise InvalidInput(
            f"{field} {url!r}: user:password@ in a webhook URL is refused (it would be stored "
            "and shown in clear, and it hides the host); put a token in the path instead"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput(f"{field} {url!r}: needs an http(s) URL with a host")
    if len(host) > MAX_HOST:
        raise InvalidInput(f"{field} {url!r}: a host name has at most {MAX_HOST} characters")
    address = literal_address(host)
    if address is None and not all(_LABEL.match(label) for label in host.split(".")):
        raise InvalidInput(f"{field} {url!r}: {host!r} is not a valid host name")
    return WebhookUrl(url, scheme, host, port or (443 if scheme == "https" else 80), address)


def literal_address(host: str) -> Address | None:
    """The address a host denotes by itself — ``::1``, ``10.0.0.1``, but also the forms
    resolvers accept for IPv4 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) — else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _NUMERIC.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # the parser getaddrinfo uses
        except OSError:
            return None
    return None


def address_problem(address: Address) -> str | None:
    """Why a webhook may not reach ``address`` (None: a public address)."""
    for form in reversed(_forms(address)):  # the carried IPv4 address says most
        if form.is_unspecified:
            return "the unspecified address (this machine)"
        if form.is_loopback:
            return "a loopback address (this machine)"
        if form.is_link_local:
            return "a link-local address (where cloud metadata services live)"
        if form.is_multicast:
            return "a multicast address"
        if form.is_private:
            return "a private or special-purpose address"
        if form.is_reserved:
            return "a reserved address"
        if not form.is_global:
            return "an address that is not globally routable"
    return None


def name_problem(host: str) -> str | None:
    """Why a host name cannot be a public receiver, whatever it resolves to here."""
    for suffix in LOCAL_SUFFIXES:
        if host == suffix or host.endswith(f".{suffix}"):
            return f"a name under .{suffix} (local by definition)"
    if "." not in host:
        return "a name without a dot (resolved through local search domains)"
    return None


def check_target(target: WebhookUrl, rules: WebhookRules, field: str = "alert") -> None:
    """Refuse a URL whose host alone says it is not public (no resolution needed)."""
    if rules.allows_host(target.host):
        return
    if target.address is not None:
        check_addresses(target, [target.address], rules, field)
        return
    problem = name_problem(target.host)
    if problem is not None:
        raise InvalidInput(_refusal(target, field, f"{target.host} is {problem}"))


def check_addresses(
    target: WebhookUrl, addresses: Iterable[Address], rules: WebhookRules, field: str = "alert"
) -> None:
    """Refuse unless every address the host resolves to may be reached (one bad answer in
    a list is how DNS rebinding gets in)."""
    if rules.allows_host(target.host):
        return
    for address in addresses:
        problem = address_problem(address)
        if problem is not None and not rules.allows_address(address):
            if target.address is None:  # a name: which address it has is not told (an
                # oracle for internal DNS to whoever may add a policy)
                raise InvalidInput(_refusal(target, field, f"{target.host} resolves to {problem}"))
            shown = target.host if target.host == str(address) else f"{target.host} → {address}"
            raise InvalidInput(_refusal(target, field, f"{shown} is {problem}"))


def parse_rules(allow: str, resolve: str = "") -> WebhookRules:
    """``allow``: comma-separated host names, addresses and networks (``10.0.0.0/8``);
    ``resolve``: comma-separated ``HOST=ADDRESS`` answers used instead of DNS."""
    hosts: set[str] = set()
    networks: list[Network] = []
    for entry in _entries(allow):
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
            continue
        except ValueError as exc:
            if "/" in entry or literal_address(entry) is not None:
                raise InvalidInput(f"{ALLOW_SETTING}: {entry!r} is not a network: {exc}") from None
        hosts.add(_host_entry(entry, ALLOW_SETTING))
    pinned: dict[str, tuple[Address, ...]] = {}
    for entry in _entries(resolve):
        host, sep, value = entry.partition("=")
        address = literal_address(value.strip()) if sep else None
        if address is None:
            raise InvalidInput(
                f"{RESOLVE_SETTING}: {entry!r} is not HOST=ADDRESS, e.g. hooks.corp=10.1.2.3"
            )
        name = _host_entry(host.strip(), RESOLVE_SETTING)
        pinned[name] = (*pinned.get(name, ()), address)
    return WebhookRules(frozenset(hosts), tuple(networks), pinned)


def _forms(address: Address) -> list[Address]:
    """The address and the IPv4 address it carries (``::ffff:127.0.0.1``, 6to4, NAT64)."""
    forms: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            forms.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            forms.append(address.sixtofour)
        if address in _NAT64:
            forms.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return forms


def _entries(text: str) -> list[str]:
    return [e.strip().lower() for e in text.split(",") if e.strip()]


def _host_entry(entry: str, setting: str) -> str:
    host = entry.rstrip(".")
    if not host or not all(_LABEL.match(label) for label in host.split(".")):
        raise InvalidInput(f"{setting}: {entry!r} is not a host name, address or network")
    return host


def _refusal(target: WebhookUrl, field: str, why: str) -> str:
    return (
        f"{field} {target.url!r}: {why}; webhooks may reach only public addresses unless "
        f"{ALLOW_SETTING} names the host or its network"
    )
