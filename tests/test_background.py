"""report.background: the one way a report runs work ahead (issue 17)."""

from __future__ import annotations

import threading
import time

import pytest

from qa_helpers.report import background


def test_a_job_runs_in_another_thread_and_its_error_reaches_the_taker():
    assert background.take(background.submit(threading.get_ident)) != threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        background.take(background.submit(lambda: 1 / 0))


def test_forget_cancels_what_has_not_started_and_take_then_runs_it_here():
    gate, stopped = threading.Event(), []
    busy = [background.submit(gate.wait, 5, stop=lambda: (stopped.append(1), gate.set()))
            for _ in range(background.WORKERS)]
    waiting = background.submit(threading.get_ident)
    time.sleep(0.1)
    background.forget()  # a new context opens: the waiting job is dropped, the running ones told to stop
    assert waiting.cancelled() and len(stopped) >= 1
    assert background.take(waiting) == threading.get_ident()
    assert all(background.take(job) for job in busy)


def test_a_job_stopped_while_it_ran_runs_again_in_the_taker_and_other_errors_still_reach_it():
    """A report whose job :func:`forget` stopped (a new report opened in the kernel meanwhile) still gets its
    result: the job's error is that of being stopped, so :func:`take` runs the job again, here."""
    gate, runs = threading.Event(), []

    def job():
        runs.append(threading.get_ident())
        if len(runs) == 1:  # the first run, in the background, waits to be stopped and fails like an interrupted query
            gate.wait(5)
            raise RuntimeError("INTERRUPT Error: Interrupted!")
        return "done"

    started = background.submit(job, stop=gate.set)
    time.sleep(0.1)
    background.forget()
    assert background.take(started) == "done"
    assert runs[-1] == threading.get_ident() != runs[0]
    failing = background.submit(lambda: 1 / 0, stop=lambda: None)
    with pytest.raises(ZeroDivisionError):  # not stopped: its own error reaches the taker
        background.take(failing)
