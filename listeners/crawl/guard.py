"""A Scrapy downloader middleware keeping a crawl on public addresses.

Each request, the first and every redirect's (Scrapy sends a redirect back through the
middlewares), is refused when its host resolves to a loopback, private, link-local,
metadata or other non-public address; `allow_private_addresses = true` on the source
leaves it out. The check resolves the name itself, before Scrapy connects.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from listeners.http import public_address

MIDDLEWARE = "listeners.crawl.guard.PublicOnly"


class PublicOnly:
    """Refuses requests to hosts that are not on the public internet."""

    def process_request(self, request: Any, spider: Any = None) -> None:
        host = urlsplit(request.url).hostname or ""
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            return  # Scrapy reports the lookup failure itself
        private = sorted(a for a in found if not public_address(str(a)))
        if private:
            raise IgnoreRequest(
                f"{host} is at {private[0]}, not a public address: refused (set "
                "allow_private_addresses = true on a source that is meant to be local)"
            )
