"""Local batch workers: one process per core, each running one unit's notebooks after another.

A worker's warm kernel keeps what a unit's notebooks share (the unit's archive reads and KPI
tables: :func:`qa_helpers.data.archive.keep`), so a unit's notebooks stay on one worker and units go
to whichever worker is free. The parent hands each worker one notebook at a time from the worker's
own list; a worker whose list and the unit queue are empty takes the second half of the longest
list when two or more notebooks wait there, so the batch does not wait on one worker's last unit,
and a batch of fewer units than workers still keeps every worker busy. A unit's one remaining
notebook stays with its warm kernel: run cold elsewhere it would read the unit's rows again for
little gain. Nothing handed out has to be taken back.

Each worker has a pipe of its own each way, written from its main thread: a worker killed at any
moment (halfway through a result, the OOM killer) can only close its own pipe, which the parent
reads as the worker's death; no lock is shared between workers. Workers die with the parent (and
their kernels with them: see :func:`~qa_helpers.run.execute.die_with_parent`) and are killed at
once when the run is interrupted. A worker that dies outright fails the notebook it was running
and is replaced.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from qa_helpers.run.execute import die_with_parent


def _work(inbox, outbox, run: Callable, args: tuple, parent: int) -> None:
    die_with_parent(parent)
    try:
        while (item := inbox.recv()) is not None:
            index, job = item
            try:
                outbox.send((index, run(job, *args), None))  # pickled here: a result that cannot be is an error
            except Exception as exc:  # the job's own runner records notebook failures; this is the runner failing
                outbox.send((index, None, f"{type(exc).__name__}: {exc}"))
    except (KeyboardInterrupt, EOFError):  # Ctrl-C reaches the whole process group; the parent gone
        os._exit(130)


def by_unit(jobs: Sequence[Any], run: Callable, args: tuple, workers: int,
            unit: Callable[[Any], str]) -> Iterator[tuple[Any, dict | None, str | None]]:
    """Run ``run(job, *args)`` for every job on ``workers`` processes; yield ``(job, result, error)``
    as each finishes (``error`` set, ``result`` None, when the worker itself failed or died).

    Parameters
    ----------
    jobs : sequence
        The jobs, grouped by ``unit(job)`` in the order given.
    run : callable
        Inherited by the forked workers; its result is pickled back to this process.
    args : tuple
        Further arguments of ``run``.
    workers : int
        Worker processes (at most one per job).
    unit : callable
        A job's unit: one unit's jobs go to one worker while there are units left to give.
    """
    context = multiprocessing.get_context("fork")
    queue = [[i for i, job in enumerate(jobs) if unit(job) == name] for name in dict.fromkeys(map(unit, jobs))]
    count = max(1, min(workers, len(jobs)))
    procs: list = [None] * count
    inboxes: list = [None] * count
    outboxes: list = [None] * count
    lists: list[list[int]] = [[] for _ in range(count)]
    running: dict[int, int] = {}  # worker slot -> index of the job it runs

    def start(slot: int) -> None:
        for end in (inboxes[slot], outboxes[slot]):
            if end is not None:
                end.close()
        inbox, inboxes[slot] = context.Pipe(duplex=False)
        outboxes[slot], outbox = context.Pipe(duplex=False)
        procs[slot] = context.Process(target=_work, args=(inbox, outbox, run, args, os.getpid()), daemon=True,
                                      name=f"qakit-worker-{slot}")
        procs[slot].start()
        inbox.close()  # the worker's ends: its death is an end of file here, and a broken pipe there
        outbox.close()

    def next_job(slot: int) -> int | None:
        if not lists[slot] and queue:
            lists[slot] = queue.pop(0)
        if not lists[slot]:  # nothing of its own: half of the longest list, when two or more wait there
            longest = max(range(count), key=lambda s: len(lists[s]))
            if len(lists[longest]) >= 2:
                keep = len(lists[longest]) // 2
                lists[slot], lists[longest] = lists[longest][keep:], lists[longest][:keep]
        return lists[slot].pop(0) if lists[slot] else None

    def hand_out() -> None:
        for slot in range(count):
            if slot in running or (index := next_job(slot)) is None:
                continue
            try:
                inboxes[slot].send((index, jobs[index]))
            except OSError:  # the worker died while idle: a new one takes the job
                procs[slot].join()
                start(slot)
                inboxes[slot].send((index, jobs[index]))
            running[slot] = index

    for slot in range(count):
        start(slot)
    try:
        hand_out()
        while running:
            watched = {outboxes[slot]: slot for slot in running}
            watched.update({procs[slot].sentinel: slot for slot in running})
            finished = []
            for ready in wait(list(watched)):
                slot = watched[ready]
                if slot not in running:  # its pipe and its sentinel were both ready
                    continue
                message = _received(outboxes[slot])
                if message and message[0] == running[slot]:
                    finished.append((running.pop(slot), *message[1:]))
                elif message == () or (message is None and not procs[slot].is_alive()):
                    procs[slot].join()  # an end of file: the worker is gone
                    finished.append((running.pop(slot), None, f"worker died (exit code {procs[slot].exitcode})"))
                    start(slot)
            hand_out()  # before the caller records the results: the workers go on meanwhile
            for index, result, error in finished:
                yield jobs[index], result, error
    finally:
        for slot in range(count):
            if slot in running:  # interrupted: a notebook still running is not waited for
                procs[slot].kill()
            else:
                try:
                    inboxes[slot].send(None)
                except OSError:  # already gone
                    pass
        for slot in range(count):
            procs[slot].join(timeout=30)
            if procs[slot].is_alive():
                procs[slot].kill()
                procs[slot].join()
            inboxes[slot].close()
            outboxes[slot].close()


def _received(connection) -> tuple | None:
    """The message waiting on ``connection``; ``()`` at an end of file (its worker died, perhaps
    halfway through a message); None when nothing is waiting."""
    if not connection.poll():
        return None
    try:
        return connection.recv()
    except (EOFError, OSError):
        return ()
