"""Which hosts and addresses webhooks may reach: public ones only, in every spelling."""

from __future__ import annotations

import pytest

from domain.webhooks.addresses import address_of, host_refusal, refusal, url_problem

REFUSED = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.0.0.1", "172.16.5.4", "172.31.255.255",
    "192.168.1.1", "100.64.0.1", "169.254.0.7", "169.254.169.254", "100.100.100.200",
    "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fd00:ec2::254",
    "ff02::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
    "::ffff:7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::127.0.0.1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111",
          "::ffff:8.8.8.8", "2a00:1450:4001::200e"]


@pytest.mark.parametrize("text", REFUSED)
def test_internal_addresses_are_refused(text: str) -> None:
    address = address_of(text)
    assert address is not None and refusal(address) is not None


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    address = address_of(text)
    assert address is not None and refusal(address) is None


@pytest.mark.parametrize(("host", "means"), [
    ("2130706433", "127.0.0.1"),       # one decimal number
    ("0x7f000001", "127.0.0.1"),       # one hex number
    ("017700000001", "127.0.0.1"),     # one octal number
    ("0177.0.0.1", "127.0.0.1"),       # octal parts
    ("0x7f.0x0.0x0.0x1", "127.0.0.1"),  # hex parts
    ("127.1", "127.0.0.1"),            # short forms fill the last part
    ("10.1.65535", "10.1.255.255"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("127.0.0.1.", "127.0.0.1"),       # a trailing dot
    ("3627734986", "216.58.215.202"),  # public in one number: allowed, connected as it reads
])
def test_numeric_hosts_are_read_as_resolvers_read_them(host: str, means: str) -> None:
    assert str(address_of(host)) == means


@pytest.mark.parametrize("host", [
    "localhost", "LOCALHOST", "localhost.", "api.localhost", "2130706433", "0x7f.1",
    "0177.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254",
    "1.2.3.4.5", "999.1.1.1",
])
def test_hosts_refused_without_resolving(host: str) -> None:
    assert host_refusal(host) is not None


@pytest.mark.parametrize("host", ["hooks.example.com", "93.184.216.34", "0x5db8d822",
                                  "example.localhost.com"])
def test_hosts_left_to_resolve_or_public(host: str) -> None:
    assert host_refusal(host) is None


@pytest.mark.parametrize(("url", "problem"), [
    ("https://hooks.example.com/in", None),
    ("http://hooks.example.com:8080/in", None),
    ("ftp://hooks.example.com/in", "Give an http(s) URL"),
    ("file:///etc/passwd", "Give an http(s) URL"),
    ("gopher://127.0.0.1:6379/_", "Give an http(s) URL"),
    ("https:///no-host", "Give an http(s) URL"),
    ("https://user:pass@hooks.example.com/", "A webhook URL carries no user name or password"),
    ("https://token@hooks.example.com/", "A webhook URL carries no user name or password"),
    ("https://hooks.example.com:99999/", "Give a valid http(s) URL"),
])
def test_url_form(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem
