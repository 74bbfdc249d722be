"""Where the page is served and who may ask for it: the --web value, and the Host header a request must carry.

``parse_address("8080")`` is ("127.0.0.1", 8080): loopback unless a host is written out (``0.0.0.0:8080``,
``[::1]:0``, ``myhost:8080``); port 0 lets the system pick a free one.

``host_allowed`` is the defence against DNS rebinding: a page on another site whose name is made to point at
this machine is sent with *its* name in the Host header, so only the names this server is known by are
taken: the host it was bound to as it was written, ``localhost`` when that is a loopback (or every) address,
IP literals of the bound address (any address when bound to every interface), this machine's own names
when bound to every interface; always with the port served.
"""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK = "127.0.0.1"
WILDCARDS = ("0.0.0.0", "::", "")


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) of ``[HOST:]PORT``; ValueError with the reason. An IPv6 host goes in brackets."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host = LOOPBACK
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        _ip(host, "an IPv6 address in brackets")
    elif ":" in host:
        raise ValueError(f"write an IPv6 address in brackets, as [{host}]:{port_text}")
    elif host == "":
        raise ValueError(f"expected [HOST:]PORT, got {text!r}")
    if not port_text.isascii() or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"expected a port from 0 to 65535 (0: any free one), got {port_text!r}")
    return host, int(port_text)


def _ip(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"expected {what}, got {text!r}") from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or the name localhost (no lookup is made)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it goes in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def split_host_header(value: str) -> tuple[str, int | None]:
    """(name, port) of a Host header: name:port, [v6]:port, or a name alone (the port is then None)."""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    else:
        name, sep, port = value.rpartition(":")
        if not sep:
            name, port = value, None
    if port is not None and not (port.isascii() and port.isdigit()):
        return name, -1
    return name.lower().rstrip("."), None if port is None else int(port)


def own_names() -> set[str]:
    """This machine's names, for a server bound to every interface."""
    names = {socket.gethostname().lower()}
    try:
        names.add(socket.getfqdn().lower())
    except OSError:
        pass
    return names


def host_allowed(header: str | None, bound: str, port: int, names: set[str] | None = None) -> bool:
    """Whether a request's Host header names this server (module docstring). ``bound``: the host as written;
    ``names``: this machine's names (asked for only when bound to every interface)."""
    if not header:
        return False
    name, given_port = split_host_header(header.strip())
    if given_port != port and not (given_port is None and port == 80):
        return False
    wildcard = bound in WILDCARDS
    if name in (bound.lower(), "localhost" if is_loopback(bound) or wildcard else bound.lower()):
        return True
    try:
        literal = ipaddress.ip_address(name)
    except ValueError:
        return wildcard and name in (own_names() if names is None else names)
    if wildcard:
        return True
    try:
        return literal == ipaddress.ip_address(bound)
    except ValueError:  # bound to a name: its own addresses are literals of it
        return str(literal) in _addresses(bound, port)


def _addresses(host: str, port: int) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except OSError:
        return set()
