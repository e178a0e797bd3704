"""Sending webhooks only where they may go: resolve the host, check every answer, then
connect to the checked address itself.

Checking a name and then handing the URL to an HTTP client would resolve it twice: a
resolver that answers a public address first and ``127.0.0.1`` second (DNS rebinding)
would pass the check and reach the server itself. So the request goes to the checked IP,
with the URL's own ``Host`` header and, for https, its name for SNI and the certificate
check (httpcore's ``sni_hostname`` request extension). Redirects are never followed: a
receiver answering 302 to an internal URL would be the same hole one hop later.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelyard.config import Settings
from modelyard.domain.webhooks import (
    Address,
    WebhookRules,
    WebhookUrl,
    check_addresses,
    check_target,
    parse_rules,
    parse_webhook_url,
)

if TYPE_CHECKING:
    import httpx


class Webhooks:
    """The rule for webhook URLs under one operator's settings, at configuration and at
    every delivery."""

    def __init__(self, rules: WebhookRules | None = None) -> None:
        self.rules = rules or WebhookRules()

    @classmethod
    def from_settings(cls, settings: Settings) -> Webhooks:
        return cls(parse_rules(settings.webhook_allow, settings.webhook_resolve))

    def check_configured(self, url: str, field: str) -> None:
        """Refuse (``InvalidInput``) a URL that may not be reached. A name that does not
        resolve here is accepted: it may resolve where the controller runs, and every
        delivery checks it again there."""
        target = parse_webhook_url(url, field)
        check_target(target, self.rules, field)
        try:
            addresses = self.resolve(target)
        except OSError:
            return
        check_addresses(target, addresses, self.rules, field)

    def resolve(self, target: WebhookUrl) -> list[Address]:
        """Every address the host stands for: itself, the operator's fixed answer, or DNS
        (``OSError`` when there is no answer)."""
        if target.address is not None:
            return [target.address]
        pinned = self.rules.pinned.get(target.host)
        if pinned:
            return list(pinned)
        answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        addresses: list[Address] = []
        for *_, sockaddr in answers:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    def post(self, url: str, body: Mapping[str, Any], timeout: float) -> httpx.Response:
        """POST ``body`` as JSON to ``url`` through a checked address; the response is
        closed unread (a receiver cannot fill memory). Raises ``InvalidInput`` when the URL
        or any of its addresses is refused, ``OSError`` / ``httpx.HTTPError`` when the
        network fails (worth another try)."""
        import httpx  # only the controller sends; `policy add` and the CLI need no client

        target = parse_webhook_url(url)
        check_target(target, self.rules)
        addresses = self.resolve(target)
        check_addresses(target, addresses, self.rules)
        extensions: dict[str, Any] = {}
        if target.scheme == "https" and target.address is None:
            extensions["sni_hostname"] = target.host
        failure: httpx.ConnectError | None = None
        with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout) as client:
            for address in addresses:  # each one checked; the next when one cannot connect
                request = client.build_request(
                    "POST",
                    httpx.URL(target.url).copy_with(host=str(address)),
                    json=dict(body),
                    headers={"Host": target.authority},
                    extensions=extensions,
                )
                try:
                    response = client.send(request, stream=True)
                except httpx.ConnectError as exc:
                    failure = exc
                    continue
                response.close()
                return response
        raise failure or httpx.ConnectError(f"{target.host}: no address to connect to")
