"""Checks of an operator's command before any work starts.

Each raises a named :mod:`qa_helpers.errors` exception with one line saying what is wrong and
where, so ``qakit`` prints that line and exits with status 2 instead of failing half-way with a
traceback: an output folder that cannot be written, a config file that does not load, a Dask
scheduler that does not answer, a sample size the generator cannot make.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from qa_helpers.errors import ConfigError, OutputError, QAKitError

SCHEDULER_TIMEOUT_S = 5.0
MIN_SAMPLE_TICKETS = 1000  # fewer leaves some team, channel or month without tickets, and the generator fails


def writable_folder(path: str | os.PathLike, what: str) -> Path:
    """Check that ``path`` is, or can be made, a folder the kit can write in; nothing is created.

    Parameters
    ----------
    path : path-like
        The folder (it may not exist yet).
    what : str
        How the message names it (``"--out folder"``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        When the path or one of its parents is a file, or the nearest existing folder refuses
        a new file (read-only, no permission).
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file, not a folder" if existing == path else f"cannot be made: {existing} is a file"
        raise OutputError(f"{what} {path} {where}")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputError(f"{what} {path} cannot be written: {existing}: {exc.strerror or exc}") from None
    return path


def creatable_file(path: str | os.PathLike, what: str) -> Path:
    """Check that the file ``path`` exists and is a file, or that its folder can take it.

    Raises
    ------
    OutputError
        When it is a folder, or it does not exist and cannot be created.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder, not a file")
    if not path.exists():
        writable_folder(path.parent, f"{what} {path}: its folder")
    return path


def check_ingest_target(archive: str | os.PathLike) -> None:
    """An archive target whose parent takes the new archive, and a key file that can be read or made.

    Ingest writes the new archive beside the old one and swaps them, and makes the
    pseudonymisation key file on first run (unless ``$QAKIT_PSEUDONYM_KEY`` is set).
    """
    from qa_helpers.data import storage
    from qa_helpers.data.privacy import KEY_ENV, key_path

    if storage.is_remote(archive):  # s3://: a bucket that answers, and a local key file
        storage.check_target(archive)
        if not os.environ.get(KEY_ENV):
            creatable_file(key_path(archive), "pseudonymisation key file")
        return
    target = Path(archive)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--archive {target} is a file, not a folder")
    writable_folder(target.resolve().parent, f"--archive {target}: its parent folder")
    if not os.environ.get(KEY_ENV):
        creatable_file(key_path(target), "pseudonymisation key file")


def check_run_target(out: str | os.PathLike, period_label: str) -> None:
    """An output folder, and its period folder, that the batch can write in."""
    out = Path(out)
    writable_folder(out, "--out folder")
    period_dir = out / period_label
    writable_folder(period_dir, "period folder")
    if period_dir.is_dir():  # a unit folder left read-only by an earlier run fails its notebooks
        for unit_dir in period_dir.iterdir():
            if unit_dir.is_dir():
                writable_folder(unit_dir, "report folder")


def check_config(config: str | os.PathLike | None = None) -> None:
    """Load every config file the notebooks read (standards, action register, panel scores, coaching and
    training registers, root causes, case reviews), so a broken one stops the batch before it starts instead
    of failing every notebook."""
    from qa_helpers.config import config_dir, config_file
    from qa_helpers.improve.actions import load_actions
    from qa_helpers.measures.scorecard import load_panel_scores
    from qa_helpers.measures.standards import load_standards

    folder = config_dir(config)
    load_standards(config_file("standards.yml", folder))
    load_actions(config_file("actions.yml", folder))
    from qa_helpers.measures.rootcause import load_case_reviews, load_root_causes  # root cause (issue 14 part 4)

    load_root_causes(config_file("root_causes.yml", folder))
    load_case_reviews(config_file("case_reviews.yml", folder))
    panel = config_file("panel_scores.csv", folder)
    try:
        load_panel_scores(panel)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise ConfigError(f"{panel}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    # issue 14: the QA team's registers and the non-KPI acceptance criteria
    from qa_helpers.people.registers import load_coaching, load_training
    from qa_helpers.people.training import load_criteria

    load_coaching(config_file("coaching.csv", folder))
    load_training(config_file("training.csv", folder))
    load_criteria(config_file("actions.yml", folder))
    # benchmarks and the mystery-shopping register (issue 15), both optional
    from qa_helpers.measures.external import config_channels, load_benchmarks, load_mystery_shopping, mystery_target

    load_benchmarks(config_file("benchmarks.yml", folder))
    mystery_target(config_file("benchmarks.yml", folder))
    load_mystery_shopping(config_file("mystery_shopping.csv", folder), config_channels(folder))
    # the voice-of-customer topic dictionary and its sentiment lexicon (topics.yml; the kit's own when absent)
    from qa_helpers.voc.text import load_lexicon
    from qa_helpers.voc.topics import load_topics

    load_topics(folder)
    load_lexicon(folder)


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Check that a Dask scheduler answers at ``address`` within ``timeout`` seconds.

    Asks for the scheduler's identity: a port that refuses, a host that does not answer and a
    server that is not a Dask scheduler all fail here, in seconds, not after the client's 30 s.
    """
    try:
        from distributed.core import rpc
    except ImportError:
        raise QAKitError("--scheduler needs dask.distributed: pip install 'qa-kit[dask]'") from None

    async def identity():
        async with rpc(address, timeout=timeout) as scheduler:
            return await scheduler.identity()

    async def within_timeout():
        return await asyncio.wait_for(identity(), timeout)

    try:
        answer = asyncio.run(within_timeout())
    except Exception as exc:  # refused, timed out, an unparsable address, or bytes that are not Dask's
        reason = "no answer" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        raise QAKitError(f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s "
                         f"({reason.splitlines()[0][:200]})") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise QAKitError(f"--scheduler {address}: what answered is not a Dask scheduler")


def check_sample_size(tickets: int, teams: int) -> None:
    """The generator's limits: at least its 6 base teams (two departments) and 1 000 tickets."""
    from qa_helpers.data.sample import BASE_TEAMS

    if teams < len(BASE_TEAMS):
        raise QAKitError(f"--teams {teams}: the sample needs at least {len(BASE_TEAMS)} teams")
    if tickets < MIN_SAMPLE_TICKETS:
        raise QAKitError(f"--tickets {tickets}: the sample needs at least {MIN_SAMPLE_TICKETS} tickets")


def check_jobs(jobs: int | None) -> None:
    """``--jobs``: absent (one per core) or at least 1."""
    if jobs is not None and jobs < 1:
        raise QAKitError(f"--jobs {jobs}: give at least 1 (or leave it out: one per core)")
