"""Which address a request comes from: the peer, unless the peer is a trusted proxy; then the
right-most X-Forwarded-For address that is not a trusted proxy."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantsync.console.proxies import TrustedProxies
from tenantsync.settings import Settings

PROXIES = TrustedProxies([ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")])


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert TrustedProxies([]).client("192.0.2.1", "198.51.100.7") == "192.0.2.1"
    assert PROXIES.client("192.0.2.1", "198.51.100.7") == "192.0.2.1"


def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() -> None:
    assert PROXIES.client("10.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert PROXIES.client("10.0.0.1", "203.0.113.9, 198.51.100.7") == "198.51.100.7"
    assert PROXIES.client("10.0.0.1", "203.0.113.9, 198.51.100.7, 10.2.3.4") == "198.51.100.7"
    assert PROXIES.client("2001:db8::1", "[2001:db8::2]:443, 198.51.100.7:5000") == "198.51.100.7"
    assert PROXIES.client("10.0.0.1", "") == "10.0.0.1"


def test_an_unreadable_hop_stops_at_the_last_address_a_trusted_proxy_vouched_for() -> None:
    assert PROXIES.client("10.0.0.1", "198.51.100.7, not-an-address") == "10.0.0.1"
    assert PROXIES.client("10.0.0.1", "x" * 300 + ", 10.9.9.9") == "10.9.9.9"
    assert PROXIES.client("10.0.0.1", "10.5.5.5, 10.6.6.6") == "10.5.5.5"


def test_the_setting_takes_addresses_and_networks_separated_by_commas(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings(data_dir=tmp_path).trusted_proxies == []
    monkeypatch.setenv("TENANTSYNC_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7 ::1")
    settings = Settings(data_dir=tmp_path)
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]
    assert settings.masked()["trusted_proxies"] == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]
    monkeypatch.setenv("TENANTSYNC_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(data_dir=tmp_path)
