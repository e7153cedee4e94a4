"""The fork server the analysis workers start from, started before the command's own work.

A command that analyses mail in a pool (`import`, `reprocess`, `imap sync`)
calls `start()` first: the fork server's imports then run on the second core
while the command imports its own modules, opens the store and reads its first
batch. A 1,000-message `mailfeed import` took 2.56-2.61 s so, against
2.82-2.86 s with the fork server started by the pool. Imports nothing heavy itself.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import Settings


def worker_count(settings: Settings) -> int:
    """WORKERS, or one per CPU; 1 means analyse in-process, no pool."""
    return settings.workers or max(1, len(os.sched_getaffinity(0)))


def context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its preload set (which only a fork server not yet running takes)."""
    ctx = multiprocessing.get_context("forkserver")
    # The fork server imports the analysis once and every worker forks from it ready.
    ctx.set_forkserver_preload(["gateway.analysis", "gateway.logs", *_main_script_imports()])
    return ctx


def start(settings: Settings) -> None:
    """Start the fork server now, when there will be a pool; it boots beside the caller, who goes on at once."""
    if worker_count(settings) > 1:
        context()
        multiprocessing.forkserver.ensure_running()


def _main_script_imports() -> list[str]:
    """What each worker imports when it runs the main script again, to import once in the fork server.

    Multiprocessing runs a main module started by its path (the `mailfeed`
    script) again in every child; the script imports gateway.cli, which took
    each worker 0.35 s. One started by name (`python -m gateway`) is not run again.
    """
    main = sys.modules.get("__main__")
    return ["gateway.cli"] if main is not None and getattr(main, "__spec__", None) is None else []
