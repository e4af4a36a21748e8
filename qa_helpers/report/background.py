"""Work a report starts early, in a background thread: the one way every notebook does it (issue 17).

A DuckDB query releases the interpreter; drawing a figure, fitting a model and formatting a table
hold it. A report that starts its later sections' archive queries early keeps the second core busy
while the first one draws. Helpers :func:`submit` such a job and take its result with :func:`take`
(in a helper function: a notebook never handles a future). Jobs run on a small pool of threads per
process in the order submitted; a job opens its own DuckDB cursor, since a connection must not be
shared between threads.

:func:`~qa_helpers.report.context.open_context` calls :func:`forget`: jobs of an earlier report never
started are cancelled and running ones asked to stop, so a warm batch kernel's next notebook, or a
re-run first cell, does not wait behind work nobody will take; :func:`take` runs a cancelled job, or
one stopped while it ran, itself. The threads are not daemons: at exit Python waits for the job
running (a query still running in a daemon thread when the interpreter ends aborts the process in
DuckDB).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any

WORKERS = 2  # a query and a scan ahead of it, beside the notebook's own thread

_pool: list[ThreadPoolExecutor] = []
_jobs: list[tuple[Future, Callable[[], None] | None]] = []
_lock = threading.Lock()


def submit(function: Callable, *args: Any, stop: Callable[[], None] | None = None, **kwargs: Any) -> Future:
    """Start ``function(*args, **kwargs)`` in a background thread.

    Parameters
    ----------
    function : callable
        The job; it opens its own DuckDB cursor if it queries.
    stop : callable, optional
        Asks the running job to end early (e.g. interrupts its cursor), for :func:`forget`.

    Returns
    -------
    concurrent.futures.Future
        Take its result with :func:`take`.
    """
    with _lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="qakit-background"))
        future = _pool[0].submit(function, *args, **kwargs)
        future.job = (function, args, kwargs)  # for take, should forget cancel it before it starts
        _jobs[:] = [(f, s) for f, s in _jobs if not f.done()] + [(future, stop)]
    return future


def take(future: Future) -> Any:
    """The result of a job (waiting for it), raising what it raised; a job :func:`forget` cancelled
    before it started, or stopped while it ran (its error is that of being stopped), runs now, in this
    thread."""
    try:
        return future.result()
    except CancelledError:
        pass
    except Exception:
        if not getattr(future, "stopped", False):
            raise
    function, args, kwargs = future.job
    return function(*args, **kwargs)


def forget() -> None:
    """Cancel the jobs not started and ask the running ones to stop (a new report context opens)."""
    with _lock:
        jobs = list(_jobs)
        _jobs.clear()
    for future, stop in jobs:
        if not future.cancel() and stop is not None and not future.done():
            future.stopped = True  # for take: its error, if it ends with one, is that of being stopped
            stop()
