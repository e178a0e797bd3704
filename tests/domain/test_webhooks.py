"""The webhook URL rules as pure functions: the URL's form, what an address or a name is,
and the operator's allow-list."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from modelyard.domain.webhooks import (
    address_problem,
    check_target,
    literal_address,
    name_problem,
    parse_rules,
    parse_webhook_url,
)
from modelyard.errors import InvalidInput

NONE = parse_rules("")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("ftp://hooks.example/x", r"needs an http\(s\) URL"),
        ("https://", r"with a host"),
        ("http://user:pw@hooks.example/x", "user:password@"),
        ("http://hooks.example\\@127.0.0.1/", "user:password@"),
        ("http://hooks.example:99999/", "not a valid URL"),
        ("http://hooks example/", "ASCII without spaces"),
        ("http://bücher.example/", "punycode"),
        ("http://bad_name-.example/", "not a valid host name"),
        ("", r"needs an http\(s\) URL"),
        ("http://" + "a" * 60 + ".b" * 100 + "/", "at most 253 characters"),
    ],
)
def test_malformed_webhook_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_webhook_url(url, "alert")


def test_a_url_keeps_its_host_and_port_for_the_host_header() -> None:
    parsed = parse_webhook_url("https://Hooks.Example.:8443/a?b=1")
    assert (parsed.host, parsed.port, parsed.authority) == (
        "hooks.example",
        8443,
        "Hooks.Example.:8443",
    )
    assert parse_webhook_url("http://[::1]/").address == ip_address("::1")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:a9fe:a9fe", "::ffff:169.254.169.254"),
        ("cafe.bad", None),
        ("hooks.example", None),
    ],
)
def test_numeric_spellings_are_the_addresses_they_spell(host: str, address: str | None) -> None:
    expected = ip_address(address) if address else None
    assert literal_address(host) == expected


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private or special-purpose"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 carrying 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 carrying 169.254.169.254
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
    ],
)
def test_addresses_a_webhook_may_not_reach(address: str, problem: str) -> None:
    found = address_problem(ip_address(address))
    assert found is not None
    assert problem in found


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_fine(address: str) -> None:
    assert address_problem(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("localhost", ".localhost"),
        ("api.localhost", ".localhost"),
        ("metadata.google.internal", ".internal"),
        ("printer.local", ".local"),
        ("nas.home.arpa", ".home.arpa"),
        ("alertmanager", "without a dot"),
        ("hooks.slack.com", None),
    ],
)
def test_names_that_are_local_wherever_they_resolve(host: str, problem: str | None) -> None:
    found = name_problem(host)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private"),
        ("http://metadata.google.internal/", "metadata.google.internal is a name under .internal"),
        ("http://0.0.0.0:8000/", "0.0.0.0 is the unspecified address"),
        ("http://2130706433/", r"2130706433 → 127.0.0.1 is a loopback address"),
    ],
)
def test_targets_refused_without_resolving_name_the_rule(url: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=f"alert '{url}': {match}.*MODELYARD_WEBHOOK_ALLOW"):
        check_target(parse_webhook_url(url), NONE, "alert")


def test_the_allow_list_names_hosts_and_networks() -> None:
    rules = parse_rules(" 10.8.0.0/16, Hooks.Corp. ,::1,127.0.0.1")
    for url in (
        "http://10.8.3.4/",
        "http://hooks.corp/",
        "http://[::1]:9/",
        "http://[::ffff:7f00:1]/",
    ):
        check_target(parse_webhook_url(url), rules)
    with pytest.raises(InvalidInput, match=r"10\.9\.0\.1 is a private"):
        check_target(parse_webhook_url("http://10.9.0.1/"), rules)


@pytest.mark.parametrize(
    ("allow", "resolve", "match"),
    [
        ("10.0.0.1/8", "", "MODELYARD_WEBHOOK_ALLOW: '10.0.0.1/8' is not a network"),
        ("bad host!", "", "MODELYARD_WEBHOOK_ALLOW: 'bad host!' is not a host name"),
        ("", "hooks.corp", "MODELYARD_WEBHOOK_RESOLVE: 'hooks.corp' is not HOST=ADDRESS"),
        ("", "hooks.corp=somewhere", "is not HOST=ADDRESS"),
    ],
)
def test_malformed_settings_name_the_variable(allow: str, resolve: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_rules(allow, resolve)


def test_fixed_answers_collect_per_host() -> None:
    rules = parse_rules("", "a.test=93.184.215.14, A.test=::1,b.test=10.0.0.1")
    assert rules.pinned == {
        "a.test": (ip_address("93.184.215.14"), ip_address("::1")),
        "b.test": (ip_address("10.0.0.1"),),
    }
