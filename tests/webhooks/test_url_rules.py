"""SSRF rules (CONTRACT §9.6): in production a webhook URL is https and every address its host
resolves to is public; local mode takes http and loopback. The resolver is injected."""

import pytest

from app.services.webhooks import UrlGuard, UrlRefused, address_refusal


def _resolver(answers):
    async def resolve(host, port):
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve


REFUSED = {
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "::1": "a loopback address",
    "10.1.2.3": "a private address",
    "172.16.0.1": "a private address",
    "192.168.1.1": "a private address",
    "169.254.169.254": "a cloud metadata address",
    "169.254.10.10": "a link-local address",
    "fd00:ec2::254": "a cloud metadata address",
    "fe80::1": "a link-local address",
    "fd12:3456::1": "a unique-local address",
    "224.0.0.1": "a multicast address",
    "ff02::1": "a multicast address",
    "0.0.0.0": "an unspecified address",
    "::": "an unspecified address",
    "::ffff:127.0.0.1": "a loopback address",  # IPv4-mapped
    "100.64.0.1": "a non-public address",  # shared address space (carrier-grade NAT)
    "192.0.2.1": "a private address",  # documentation
}


@pytest.mark.parametrize("address", sorted(REFUSED))
async def test_production_refuses_every_non_public_address(address):
    guard = UrlGuard(production=True, resolver=_resolver({"hooks.example.com": [address]}))
    with pytest.raises(UrlRefused) as refused:
        await guard.check("https://hooks.example.com/in")
    assert address_refusal(address) is not None
    assert str(refused.value).startswith("the host resolves to ")
    assert str(refused.value) == f"the host resolves to {REFUSED[address]}"


@pytest.mark.parametrize("literal", ["https://127.0.0.1/in", "https://[::1]/in", "https://169.254.169.254/latest"])
async def test_production_refuses_address_literals_without_resolving(literal):
    guard = UrlGuard(production=True, resolver=_resolver({}))
    with pytest.raises(UrlRefused, match="resolves to"):
        await guard.check(literal)


async def test_one_private_answer_among_public_ones_is_enough_to_refuse():
    guard = UrlGuard(production=True, resolver=_resolver({"mixed.example.com": ["93.184.216.34", "10.0.0.5"]}))
    with pytest.raises(UrlRefused, match="private"):
        await guard.check("https://mixed.example.com/in")


async def test_production_accepts_https_to_public_addresses_and_keeps_them_for_the_request():
    guard = UrlGuard(
        production=True, resolver=_resolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    )
    target = await guard.check("https://hooks.example.com/in?k=1")
    assert target.addresses == ["93.184.216.34", "2606:2800:220:1::1"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/in", "https"),
        ("https://nowhere.example.com/in", "does not resolve"),
        ("https://user:pw@hooks.example.com/in", "credentials"),
        ("https://hooks.example.com/in#frag", "fragment"),
        ("ftp://hooks.example.com/in", "http"),
        ("hooks.example.com/in", "http"),
        ("https:///in", "host"),
    ],
)
async def test_production_refuses_bad_urls(url, why):
    guard = UrlGuard(production=True, resolver=_resolver({"hooks.example.com": ["93.184.216.34"]}))
    with pytest.raises(UrlRefused, match=why):
        await guard.check(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/in", "http://localhost/in", "https://10.0.0.1/in"])
async def test_local_mode_takes_http_and_loopback_without_resolving(url):
    target = await UrlGuard(production=False, resolver=_resolver({})).check(url)
    assert target.addresses == []


async def test_local_mode_still_refuses_what_is_no_http_url():
    with pytest.raises(UrlRefused):
        await UrlGuard(production=False).check("file:///etc/passwd")
