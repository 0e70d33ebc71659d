"""Scrapy's robots.txt middleware, fixed for requests that wait for the same robots.txt.

Scrapy 2.13+ (`RobotsTxtMiddleware.robot_parser` as a coroutine) awaits the one Deferred of a
site's pending robots.txt from every request that arrives while it downloads. Converting a
Deferred to a future consumes its result: the first waiter gets the parser, the others get
None, and None means "no robots.txt, allow everything". With several start URLs on one site,
all but one skipped robots.txt (seen with Scrapy 2.19: a disallowed start URL was fetched).
Here each waiter gets a Deferred of its own, fired with the parser and passing it on.

`settings_for_scrapy` puts this class in place of Scrapy's when the installed Scrapy has the
coroutine form; older versions chain the Deferred themselves and keep their own middleware.
"""

from __future__ import annotations

import inspect
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

SCRAPY_MIDDLEWARE = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
OWN_MIDDLEWARE = "listeners.crawl.robots.SharedRobotsTxtMiddleware"


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose pending robots.txt can be awaited by many requests."""

    async def robot_parser(self, request: Request) -> Any:
        parser = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(parser, Deferred):
            waiter: Deferred[Any] = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result  # for the next request waiting on the same robots.txt

            parser.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)


def settings_for_scrapy(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with the fixed middleware in place of Scrapy's, where it applies."""
    if not inspect.iscoroutinefunction(RobotsTxtMiddleware.robot_parser):
        return settings
    middlewares = dict(settings.get("DOWNLOADER_MIDDLEWARES") or {})
    middlewares[SCRAPY_MIDDLEWARE] = None
    middlewares[OWN_MIDDLEWARE] = 100  # where Scrapy's sits
    return {**settings, "DOWNLOADER_MIDDLEWARES": middlewares}
