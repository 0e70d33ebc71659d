"""`ascolto run`: scheduler, web app and clean shutdown in one process."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI

from ascolto.database import prepare
from ascolto.runtime import jobs
from ascolto.runtime.scheduler import build_scheduler, sync_jobs
from ascolto.settings import Settings
from storage.db import safe_url

log = logging.getLogger(__name__)


def start_scheduler(settings: Settings, *, persistent: bool = True) -> BackgroundScheduler:
    """Migrate, mirror settings, and start polling every enabled source."""
    engine = prepare(settings)
    scheduler = build_scheduler(settings, engine, persistent=persistent)
    scheduler.start(paused=True)
    sync_jobs(scheduler, settings)
    jobs.SCHEDULER[:] = [scheduler]
    scheduler.resume()
    log.info(
        "scheduler started",
        extra={
            "database": safe_url(settings.database.url),
            "sources": len([s for s in settings.sources if s.enabled]),
        },
    )
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Let running jobs finish their transaction, then stop."""
    jobs.STOP.set()
    jobs.SCHEDULER[:] = []
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")


def serve(settings: Settings, *, persistent: bool = True, sign_in_hint: str | None = None) -> None:
    """Run until SIGINT or SIGTERM; the web app too when enabled.

    `persistent=False` polls without touching the stored schedule (`ascolto listen`);
    `sign_in_hint` is shown on the sign-in page (the demo's credentials).
    """
    jobs.STOP.clear()
    if settings.web.enabled:
        _serve_with_web(settings, sign_in_hint)
    else:
        _serve_headless(settings, persistent)


def _serve_with_web(settings: Settings, sign_in_hint: str | None = None) -> None:
    import uvicorn

    from ascolto.database import engine_for
    from ascolto.web.app import create_app

    scheduler = start_scheduler(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Uvicorn has caught SIGINT/SIGTERM and stopped taking requests.
        await _in_thread(stop_scheduler, scheduler)

    if settings.campaigns:
        from outreach.campaigns.links import readiness

        # Said at start, not first met by a customer opening a survey link.
        for problem in readiness(settings):
            log.error("campaigns cannot work: %s", problem)
    app = create_app(settings, engine_for(settings), lifespan=lifespan)
    app.state.sign_in_hint = sign_in_hint
    server = uvicorn.Server(web_server_config(settings, app))
    # Once shut down, uvicorn raises the signal that stopped it again; with SIGTERM's
    # default action that killed the process after a clean stop (exit -15, not 0).
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if scheduler.running:
            stop_scheduler(scheduler)


def web_server_config(settings: Settings, app: Any) -> Any:
    """Uvicorn's settings for the web app.

    Uvicorn's own proxy handling is off: by default it believes `X-Forwarded-For` from
    127.0.0.1, so anything on the host could pose as any client. The app decides itself,
    from `[web] trusted_proxies` (ascolto.web.middleware.ClientAddress).
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.web.host,
        port=settings.web.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


async def _in_thread(func: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def _serve_headless(settings: Settings, persistent: bool) -> None:
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("received %s, stopping after the current transaction", signal.Signals(signum).name)
        jobs.STOP.set()
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    scheduler = start_scheduler(settings, persistent=persistent)
    try:
        stop.wait()
    finally:
        stop_scheduler(scheduler)
