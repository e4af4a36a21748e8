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
