"""Local batch workers: one process per core, each running one unit's notebooks after another.

A worker's warm kernel keeps what a unit's notebooks share (the unit's archive reads and KPI
tables: :func:`qa_helpers.data.archive.keep`), so a unit's notebooks stay on one worker and units go
to whichever worker is free. The parent hands each worker one notebook at a time from the worker's
own list; a worker whose list and the unit queue are empty takes the second half of the longest
list, so the batch does not wait on one worker's last unit, and a batch of fewer units than
workers still keeps every worker busy. Nothing handed out has to be taken back.

Workers are forked before the parent starts any thread of its own (queues start a feeder thread on
their first message), die with the parent (and their kernels with them: see
:func:`~qa_helpers.run.execute.die_with_parent`), and are killed at once when the run is
interrupted. A worker that dies outright fails the notebook it was running and is replaced.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from qa_helpers.run.execute import die_with_parent

POLL_S = 1.0  # how often a waiting parent checks that its workers live


def _work(inbox, outbox, slot: int, run: Callable, args: tuple, parent: int) -> None:
    die_with_parent(parent)
    while (item := inbox.get()) is not None:
        index, job = item
        try:
            outbox.put((slot, index, run(job, *args), None))
        except Exception as exc:  # the job's own runner records notebook failures; this is the runner failing
            outbox.put((slot, index, None, f"{type(exc).__name__}: {exc}"))


def by_unit(jobs: Sequence[Any], run: Callable, args: tuple, workers: int,
            unit: Callable[[Any], str]) -> Iterator[tuple[Any, dict | None, str | None]]:
    """Run ``run(job, *args)`` for every job on ``workers`` processes; yield ``(job, result, error)``
    as each finishes (``error`` set, ``result`` None, when the worker itself failed or died).

    Parameters
    ----------
    jobs : sequence
        The jobs, grouped by ``unit(job)`` in the order given.
    run : callable
        Picklable by reference (a module-level function); its result is sent back to this process.
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
    outbox = context.Queue()
    inboxes: list = [None] * count
    procs: list = [None] * count
    lists: list[list[int]] = [[] for _ in range(count)]
    running: dict[int, int] = {}  # worker slot -> index of the job it runs

    def start(slot: int) -> None:
        inboxes[slot] = context.SimpleQueue()
        procs[slot] = context.Process(target=_work, args=(inboxes[slot], outbox, slot, run, args, os.getpid()),
                                      daemon=True, name=f"qakit-worker-{slot}")
        procs[slot].start()

    def next_job(slot: int) -> int | None:
        if not lists[slot] and queue:
            lists[slot] = queue.pop(0)
        if not lists[slot]:
            longest = max(range(count), key=lambda s: len(lists[s]))
            half = len(lists[longest]) // 2 if len(lists[longest]) > 1 else len(lists[longest])
            lists[slot], lists[longest] = lists[longest][len(lists[longest]) - half:], lists[longest][:len(lists[longest]) - half]
        return lists[slot].pop(0) if lists[slot] else None

    def hand_out() -> None:
        for slot in range(count):
            if slot not in running and (index := next_job(slot)) is not None:
                running[slot] = index
                inboxes[slot].put((index, jobs[index]))

    for slot in range(count):  # every fork before the first message starts a queue's feeder thread
        start(slot)
    try:
        hand_out()
        while running:
            try:
                messages = [outbox.get(timeout=POLL_S)]
            except queue_module.Empty:
                messages = []
            dead = [slot for slot in running if not procs[slot].is_alive()]
            if dead:  # what a worker sent before it died is read first
                messages += _drained(outbox)
            finished = []
            for slot, index, result, error in messages:
                if running.get(slot) == index:
                    del running[slot]
                    finished.append((index, result, error))
            for slot in dead:
                if slot in running:  # died outright while running it: the notebook fails, a new worker takes over
                    finished.append((running.pop(slot), None, f"worker died (exit code {procs[slot].exitcode})"))
                start(slot)
            hand_out()  # before the caller records the results: the workers go on meanwhile
            for index, result, error in finished:
                yield jobs[index], result, error
    finally:
        for slot in range(count):
            if slot in running:  # interrupted: a notebook still running is not waited for
                procs[slot].kill()
            elif procs[slot].is_alive():
                inboxes[slot].put(None)
        for slot in range(count):
            procs[slot].join(timeout=30)
            if procs[slot].is_alive():
                procs[slot].kill()
                procs[slot].join()
        outbox.close()


def _drained(outbox) -> list:
    """Every message waiting in ``outbox``, without blocking."""
    messages = []
    while True:
        try:
            messages.append(outbox.get_nowait())
        except queue_module.Empty:
            return messages
