"""Outbound HTTP to addresses an organization typed in, without SSRF.

The host is resolved once, every address it resolves to is checked, and the connection is
made to the checked address (the URL's host is kept for the ``Host`` header and for TLS:
SNI and certificate checks use the name). A DNS answer that changes between the check and
the connection therefore cannot reach an internal address. No redirects are followed, the
whole exchange has a deadline and the response body is read up to a cap.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass

import certifi
import httpx

# Cloud metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba): refused even when
# private addresses are allowed, since they hand out credentials.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The destination may not be contacted; the message says why."""


def address_problem(ip: str, *, allow_private: bool = False) -> str | None:
    """Why ``ip`` may not be contacted, or None. IPv4-mapped and NAT64 IPv6 addresses are
    judged by the IPv4 address inside them."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if addr.version == 6:
        if addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        elif addr in NAT64:
            addr = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in METADATA:
        return f"{ip} is a cloud metadata address"
    if addr.is_multicast:
        return f"{ip} is a multicast address"
    if addr.is_unspecified:
        return f"{ip} is the unspecified address"
    if allow_private:
        return None
    if addr.is_loopback:
        return f"{ip} is a loopback address"
    if addr.is_link_local:
        return f"{ip} is a link-local address"
    if addr.version == 4 and addr in CGNAT:
        return f"{ip} is a shared (CGNAT) address"
    if addr.is_private:
        return f"{ip} is a private address"
    if not addr.is_global:
        return f"{ip} is not a public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"{host} does not resolve: {exc.strerror}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_address(url: str, *, allow_private: bool = False) -> str:
    """Resolve ``url``'s host now and return the address to connect to; Refused if any of
    its addresses is not allowed (a name with one internal answer is refused outright)."""
    parsed = httpx.URL(url)
    if parsed.scheme not in {"https", "http"} or not parsed.host:
        raise Refused("Only http(s) URLs can be called.")
    addresses = resolve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
    if not addresses:
        raise Refused(f"{parsed.host} does not resolve")
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            raise Refused(f"{parsed.host} resolves to {address}: refused, {problem}.")
    return addresses[0]


@dataclass
class Response:
    status_code: int
    body: bytes  # at most ``max_bytes``
    truncated: bool


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle takes ~40 ms: once per process, not once per client.
    return ssl.create_default_context(cafile=certifi.where())


def client(*, timeout: float) -> httpx.Client:
    """A client for one destination (connections are pooled by address, so one client per
    host name keeps each TLS connection's SNI right)."""
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls())


def post(
    http: httpx.Client,
    url: str,
    address: str,
    *,
    content: bytes,
    headers: dict,
    max_bytes: int,
    deadline_s: float,
) -> Response:
    """POST to ``url`` connected to ``address`` (checked by ``checked_address``)."""
    parsed = httpx.URL(url)
    target = parsed.copy_with(host=address)
    port = parsed.port
    host_header = parsed.host if port is None else f"{parsed.host}:{port}"
    if ":" in parsed.host:  # an IPv6 literal
        host_header = f"[{parsed.host}]" + (f":{port}" if port else "")
    started = time.monotonic()
    request = http.build_request(
        "POST",
        target,
        content=content,
        headers={**headers, "Host": host_header},
        extensions={"sni_hostname": parsed.host},
    )
    response = http.send(request, stream=True)
    try:
        chunks, size, truncated = [], 0, False
        for chunk in response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size >= max_bytes:
                truncated = True
                break
            # A receiver trickling bytes would otherwise hold the sender past the timeout.
            if time.monotonic() - started > deadline_s:
                raise httpx.ReadTimeout("the response took too long")
        return Response(response.status_code, b"".join(chunks)[:max_bytes], truncated)
    finally:
        response.close()
