"""One process at a time on a folder: an advisory lock file naming its holder.

The lock is an ``flock`` on a small file that records the holder's pid, host and start time.
The operating system releases it the moment its process dies, however it dies, so a lock
left by a killed run is stale by construction and the next run simply takes it; a live
holder is named in the refusal. The file itself stays (removing it would let two processes
lock two different files of the same name).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from qa_helpers.errors import LockedError


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        info = json.loads(os.read(fd, 4096).decode("utf-8"))
        return f"pid {info['pid']} on host {info['host']}, since {info['since']}"
    except (ValueError, KeyError, UnicodeDecodeError):
        return "a process that has not yet written its name"


@contextmanager
def folder_lock(lock_file: Path, what: str) -> Iterator[None]:
    """Hold ``lock_file`` for the duration of the block, or refuse with :class:`LockedError`.

    Parameters
    ----------
    lock_file : Path
        The lock file (created if missing; its folder must exist).
    what : str
        What is being locked, for the message (``reports/2025-Q4``).

    Raises
    ------
    LockedError
        When a live process holds the lock; the message names its pid, host and start time.
    """
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by exec'd children
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"{what} is in use by another qakit process ({_holder(fd)}); wait for it to "
                              f"finish or stop it (lock file {lock_file})") from None
        since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
