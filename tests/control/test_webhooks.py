"""Webhooks resolved, checked and sent to the checked address: real sockets on loopback,
real resolution of literal addresses and ``localhost``, the operator's fixed answers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from ipaddress import ip_address

import httpx
import pytest
from tests.integration.webhook_receiver import webhook_receiver

from modelyard.config import Settings
from modelyard.control.webhooks import Webhooks
from modelyard.domain.webhooks import parse_rules, parse_webhook_url
from modelyard.errors import InvalidInput

PUBLIC = "93.184.215.14"  # never connected to: only judged


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    rebinding = Webhooks(parse_rules("", f"hooks.test={PUBLIC},hooks.test=127.0.0.1"))
    with pytest.raises(InvalidInput, match=r"hooks.test resolves to a loopback address"):
        rebinding.check_configured("http://hooks.test/x", "alert")
    Webhooks(parse_rules("", f"hooks.test={PUBLIC}")).check_configured("http://hooks.test/", "a")


def test_a_name_that_does_not_resolve_here_is_left_to_the_delivery_check() -> None:
    Webhooks().check_configured("https://hooks.invalid/x", "alert")
    with pytest.raises(socket.gaierror, match=r"\w"):  # whatever the resolver says
        Webhooks().post("https://hooks.invalid/x", {}, timeout=2)


def test_localhost_and_numeric_spellings_resolve_to_what_they_are() -> None:
    with pytest.raises(InvalidInput, match=r"under \.localhost"):
        Webhooks().check_configured("http://localhost:8080/", "alert")
    for spelling in ("2130706433", "0x7f.1", "0177.0.0.1", "[::ffff:127.0.0.1]"):
        with pytest.raises(InvalidInput, match="loopback"):
            Webhooks().check_configured(f"http://{spelling}/", "alert")
    assert Webhooks().resolve(parse_webhook_url("http://localhost/")) == [ip_address("127.0.0.1")]


def test_the_request_goes_to_the_checked_address_with_the_urls_host() -> None:
    webhooks = Webhooks(parse_rules("127.0.0.1", "hooks.test=127.0.0.1"))
    with webhook_receiver() as receiver:
        response = webhooks.post(f"http://hooks.test:{receiver.port}/hook", {"a": 1}, 2)
    assert response.status_code == 204
    assert receiver.hosts == [f"hooks.test:{receiver.port}"]
    assert receiver.received == [{"a": 1}]


def test_an_allowed_name_may_resolve_anywhere_but_other_names_may_not() -> None:
    webhooks = Webhooks(parse_rules("hooks.corp", "hooks.corp=10.1.2.3,other.corp=10.1.2.3"))
    webhooks.check_configured("https://hooks.corp/x", "alert")
    with pytest.raises(InvalidInput, match=r"other\.corp resolves to a private"):
        webhooks.check_configured("https://other.corp/x", "alert")


def test_https_names_the_host_for_sni_not_the_address() -> None:
    names: list[str | None] = []

    def seen(_sock: object, name: str | None, _context: object) -> None:
        names.append(name)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no certificate: the handshake fails
    context.sni_callback = seen
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def accept() -> None:
            conn, _ = server.accept()
            with conn, contextlib.suppress(ssl.SSLError):
                context.wrap_socket(conn, server_side=True)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        webhooks = Webhooks(parse_rules("127.0.0.1", "hooks.test=127.0.0.1"))
        with pytest.raises(httpx.ConnectError, match="handshake"):
            webhooks.post(f"https://hooks.test:{port}/x", {}, timeout=5)
        thread.join(5)
    assert names == ["hooks.test"]


def test_the_settings_build_the_rules() -> None:
    settings = Settings(webhook_allow="10.8.0.0/16", webhook_resolve="hooks.corp=10.8.1.1")
    Webhooks.from_settings(settings).check_configured("http://hooks.corp/x", "alert")
    with pytest.raises(InvalidInput, match=r"10\.9\.0\.1 is a private"):
        Webhooks.from_settings(settings).check_configured("http://10.9.0.1/x", "alert")
