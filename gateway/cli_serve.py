"""`mailfeed serve`: start the parts this instance runs, wait for a stop signal, stop them in reverse.

Called by gateway/cli.py, which checks the settings and the switches first.
Each part but the processor can be left to other instances (scale-out: web
behind a proxy here, SMTP there); the processor always runs, because it is
what turns stored mail into posts (on PostgreSQL an advisory lock lets one
instance at a time process). Every part started is registered for /healthz.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from gateway.config import Settings
from gateway.health import Registry
from gateway.store.db import Store

log = logging.getLogger("gateway")


class CannotListen(Exception):
    """The SMTP port is taken, or not ours to bind; the message says which address."""


@dataclass(frozen=True)
class Parts:
    """Which parts of `serve` run in this instance."""

    smtp: bool = True
    web: bool = True
    imap: bool = True
    digests: bool = True

    def any(self) -> bool:
        return self.smtp or self.web or self.imap or self.digests


def run(settings: Settings, store: Store, parts: Parts) -> None:
    """Run until SIGTERM or Ctrl-C, then stop every part; CannotListen when SMTP cannot start."""
    from gateway.worker import ProcessorProcess

    health = Registry()
    with ExitStack() as running:  # stops in reverse order of starting
        running.callback(store.dispose)
        processor = ProcessorProcess(settings)
        with _signals_ignored():
            processor.start()  # it starts by processing whatever a crash left pending
        stopping = _catch_stop_signals()
        running.callback(processor.stop)
        health.processor(processor.alive, processor.trouble)
        if parts.smtp:
            _start_smtp(settings, store, processor.wake, running, health)
        if parts.imap:
            from gateway.ingest.imap_followers import Followers

            followers = Followers(store, settings, processor.wake)
            followers.start()
            running.callback(followers.stop)
            health.imap(followers.alive)
        if parts.digests:
            from gateway.digest.scheduler import DigestScheduler

            digests = DigestScheduler(store, settings)
            digests.start()
            running.callback(digests.stop)
            health.digests(digests.alive)
        log.info("serving: %s", ", ".join(name for name, on in vars(parts).items() if on) + ", processor")
        if parts.web and not stopping.is_set():  # a signal during start-up: do not start the web
            _run_web(settings, store, health)
        else:
            while not stopping.wait(1.0):
                pass
    log.info("stopped")


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """SIGTERM and SIGINT ignored while the processor starts: its processes inherit that.

    Ctrl-C (and `kill` of the process group) reaches every process of the
    group; the processor should not die before SMTP has stopped handing it
    mail. So `serve` alone stops it, last, through its pipe; it ends too when
    `serve` is gone (the pipe closes).
    """
    before = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _catch_stop_signals() -> threading.Event:
    """SIGTERM and Ctrl-C set the returned event, so every part stops cleanly; a second one ends `serve` at once.

    uvicorn handles them itself while the web runs, then re-raises each signal it
    caught, which lands here.
    """
    stopping = threading.Event()

    def handle(sig: int, _frame: object) -> None:
        if stopping.is_set():  # asked twice: do not wait for the parts any longer
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)
        stopping.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    return stopping


def _start_smtp(
    settings: Settings, store: Store, wake: Callable[[], None], running: ExitStack, health: Registry
) -> None:
    from gateway.ingest.smtp import start_smtp

    try:
        controller, writer = start_smtp(settings, store, wake)
    except OSError as exc:
        raise CannotListen(f"cannot listen for SMTP on {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
    running.callback(writer.close)
    running.callback(controller.stop)
    sockets = controller.server.sockets if isinstance(controller.server, asyncio.Server) else ()
    port = sockets[0].getsockname()[1] if sockets else settings.smtp_port
    listening = f"{settings.smtp_host}:{port}"
    health.smtp(listening, lambda: controller.server is not None and controller.loop.is_running() and writer.alive)
    log.info("SMTP listening on %s", listening)


def _run_web(settings: Settings, store: Store, health: Registry) -> None:
    import uvicorn

    from gateway.web.app import create_app

    config = uvicorn.Config(
        create_app(settings, store, health),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # uvicorn's lines go through our handler: LOG_FORMAT applies to them too
        proxy_headers=False,  # AUTH=proxy must see the proxy's own address, not X-Forwarded-For
    )
    uvicorn.Server(config).run()
