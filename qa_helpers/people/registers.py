"""Reading and checking the QA team's registers: ``config/coaching.csv`` and ``config/training.csv``.

Both are spreadsheets a manager keeps, so the reader is forgiving about form (UTF-8 with or without a
byte-order mark, or GB18030 as Excel saves it in a Chinese locale; yes/no written as yes, y, true, 1,
是 or 否; dates as 2025-04-28 or 2025/4/28) and strict about content: a missing or unknown column, an
empty required cell, a date that is not one, a duplicate session id or a follow-up before its session
is a :class:`~qa_helpers.errors.RegisterError` naming the file, the row (its line in the file, the
header being line 1) and the column. A file that does not exist is no register: an empty frame.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from qa_helpers.errors import RegisterError

COACHING_REQUIRED = ("session_id", "agent_id", "coach", "date", "topic", "agreed_action", "follow_up_date",
                     "follow_up_done")
COACHING_OPTIONAL = ("kpi",)
TRAINING_REQUIRED = ("course_id", "course", "date", "hours", "agent_id", "score", "passed")
TRAINING_OPTIONAL = ("certified",)
YES = {"yes", "y", "true", "1", "是", "已完成", "通过", "x", "✓"}
NO = {"no", "n", "false", "0", "否", "未完成", "未通过", ""}


def _read(path: Path) -> pd.DataFrame:
    """The file's cells as text (nothing parsed, nothing treated as missing but empty cells).

    Empty ``Unnamed:`` columns and empty rows (blank lines, rows of only commas) are dropped; the index
    stays the row's position in the file, so :func:`_line` gives its true line number.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=True,
                                skip_blank_lines=False)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise RegisterError(f"not a readable CSV file ({str(exc).splitlines()[0]})", file=str(path)) from None
    else:
        raise RegisterError("not UTF-8 or GB18030 text (save it as CSV UTF-8)", file=str(path))
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("").apply(lambda column: column.str.strip())
    # Excel saves trailing empty columns (header "Unnamed: 9") and rows of only commas: neither is content.
    # Blank lines are read as empty rows and dropped here, so the index keeps each row's true line number.
    spare = [c for c in frame.columns if c.startswith("Unnamed:") and (frame[c] == "").all()]
    frame = frame.drop(columns=spare)
    return frame[(frame != "").any(axis=1)]


def _check_columns(frame: pd.DataFrame, path: Path, required: tuple, optional: tuple) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RegisterError(f"missing column; the columns are {', '.join(required + optional)}",
                            file=str(path), row=1, column=missing[0])
    unknown = [c for c in frame.columns if c not in required + optional]
    if unknown:
        raise RegisterError(f"unknown column; the columns are {', '.join(required + optional)}",
                            file=str(path), row=1, column=unknown[0])


def _line(index: int) -> int:
    return int(index) + 2  # the header is line 1


def _required(frame: pd.DataFrame, path: Path, columns: tuple) -> None:
    for column in columns:
        empty = frame.index[frame[column] == ""]
        if len(empty):
            raise RegisterError("empty; every row needs it", file=str(path), row=_line(empty[0]), column=column)


def _dates(frame: pd.DataFrame, path: Path, column: str, optional: bool = False) -> pd.Series:
    text = frame[column].str.replace("/", "-", regex=False)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() & ~((frame[column] == "") & optional)
    if bad.any():
        first = bad.idxmax()
        raise RegisterError(f"{frame.at[first, column]!r} is not a date (write 2025-04-28)", file=str(path),
                            row=_line(first), column=column)
    return parsed


def _numbers(frame: pd.DataFrame, path: Path, column: str, low: float, high: float,
             optional: bool = False) -> pd.Series:
    parsed = pd.to_numeric(frame[column], errors="coerce")
    bad = (parsed.isna() & ~((frame[column] == "") & optional)) | (parsed < low) | (parsed > high)
    if bad.any():
        first = bad.idxmax()
        raise RegisterError(f"{frame.at[first, column]!r} is not a number from {low:g} to {high:g}",
                            file=str(path), row=_line(first), column=column)
    return parsed.astype("float64")


def _flags(frame: pd.DataFrame, path: Path, column: str) -> pd.Series:
    lowered = frame[column].str.lower()
    bad = ~lowered.isin(YES | NO)
    if bad.any():
        first = bad.idxmax()
        raise RegisterError(f"{frame.at[first, column]!r} is not yes or no", file=str(path), row=_line(first),
                            column=column)
    return lowered.isin(YES).astype(bool)


def _unique(frame: pd.DataFrame, path: Path, columns: list[str], what: str) -> None:
    twice = frame.duplicated(columns, keep="first")
    if twice.any():
        first = twice.idxmax()
        raise RegisterError(f"{what} {' / '.join(frame.loc[first, columns])} is listed twice", file=str(path),
                            row=_line(first), column=columns[-1])


def _path(path: str | os.PathLike | None, name: str) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    return path / name if path.is_dir() else path


def load_coaching(path: str | os.PathLike | None, kpis: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Load and check the coaching register.

    Parameters
    ----------
    path : path-like or None
        ``coaching.csv`` (or a folder holding it). A file that does not exist, or ``None``, is no register.
    kpis : tuple of str, optional
        KPI names a session's ``kpi`` may take (default: the kit's KPIs).

    Returns
    -------
    DataFrame
        ``session_id, agent_id, coach, date, topic, agreed_action, follow_up_date, follow_up_done, kpi,
        row`` (dates as timestamps, ``follow_up_done`` bool, ``kpi`` empty where the rule's KPI applies,
        ``row`` the line in the file); ``attrs["present"]`` says whether the file exists.

    Raises
    ------
    RegisterError
        Naming the file, row and column of the first bad cell.
    """
    if kpis is None:
        from qa_helpers.measures.kpis import KPIS

        kpis = tuple(KPIS)
    columns = [*COACHING_REQUIRED, *COACHING_OPTIONAL, "row"]
    path = _path(path, "coaching.csv")
    if path is None or not path.is_file():
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        empty = empty.astype({"date": "datetime64[ns]", "follow_up_date": "datetime64[ns]", "follow_up_done": bool,
                              "row": "int64"})
        empty.attrs["present"] = False
        return empty
    key = ("coaching", str(path), kpis, _digest(path))
    if key in _LOADED:
        return _LOADED[key].copy()
    frame = _read(path)
    _check_columns(frame, path, COACHING_REQUIRED, COACHING_OPTIONAL)
    _required(frame, path, ("session_id", "agent_id", "coach", "date", "topic"))
    _unique(frame, path, ["session_id"], "session")
    out = frame.reindex(columns=[*COACHING_REQUIRED, *COACHING_OPTIONAL], fill_value="")
    out["date"] = _dates(frame, path, "date")
    out["follow_up_date"] = _dates(frame, path, "follow_up_date", optional=True)
    early = out["follow_up_date"] < out["date"]
    if early.any():
        first = early.idxmax()
        raise RegisterError("the follow-up is before the session", file=str(path), row=_line(first),
                            column="follow_up_date")
    out["follow_up_done"] = _flags(frame, path, "follow_up_done")
    unknown = (out["kpi"] != "") & ~out["kpi"].isin(kpis)
    if unknown.any():
        first = unknown.idxmax()
        raise RegisterError(f"unknown KPI {out.at[first, 'kpi']!r}; known KPIs: {', '.join(kpis)}", file=str(path),
                            row=_line(first), column="kpi")
    out["row"] = [_line(i) for i in out.index]
    out = out[columns].sort_values(["date", "session_id"], kind="stable").reset_index(drop=True)
    out.attrs["present"] = True
    return _keep(key, out)


def load_training(path: str | os.PathLike | None) -> pd.DataFrame:
    """Load and check the training records.

    Parameters
    ----------
    path : path-like or None
        ``training.csv`` (or a folder holding it). A file that does not exist, or ``None``, is no records.

    Returns
    -------
    DataFrame
        ``course_id, course, date, hours, agent_id, score, passed, certified, row``: ``score`` the
        scenario-test score 0-100 (NaN when the course had no test), ``passed`` bool, ``certified``
        bool or missing (the column is optional), ``row`` the line in the file;
        ``attrs["present"]`` says whether the file exists.

    Raises
    ------
    RegisterError
        Naming the file, row and column of the first bad cell: also a course id used with two names
        or two dates, and a trainee listed twice on one course.
    """
    columns = [*TRAINING_REQUIRED, *TRAINING_OPTIONAL, "row"]
    path = _path(path, "training.csv")
    if path is None or not path.is_file():
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        empty = empty.astype({"date": "datetime64[ns]", "hours": "float64", "score": "float64", "passed": bool,
                              "row": "int64"})
        empty.attrs["present"] = False
        return empty
    key = ("training", str(path), _digest(path))
    if key in _LOADED:
        return _LOADED[key].copy()
    frame = _read(path)
    _check_columns(frame, path, TRAINING_REQUIRED, TRAINING_OPTIONAL)
    _required(frame, path, ("course_id", "course", "date", "hours", "agent_id"))
    _unique(frame, path, ["course_id", "agent_id"], "trainee")
    out = frame.reindex(columns=[*TRAINING_REQUIRED, *TRAINING_OPTIONAL], fill_value="")
    out["date"] = _dates(frame, path, "date")
    for column in ("course", "date"):
        clash = out.groupby("course_id")[column].transform("nunique") > 1
        if clash.any():
            first = clash.idxmax()
            raise RegisterError(f"course {out.at[first, 'course_id']} has two different {column}s; one course id, "
                                f"one {column}", file=str(path), row=_line(first), column=column)
    out["hours"] = _numbers(frame, path, "hours", 0, 1000)
    out["score"] = _numbers(frame, path, "score", 0, 100, optional=True)
    out["passed"] = _flags(frame, path, "passed")
    if "certified" in frame.columns:
        out["certified"] = np.where(frame["certified"] == "", None, _flags(frame, path, "certified"))
    else:
        out["certified"] = None
    out["row"] = [_line(i) for i in out.index]
    out = out[columns].sort_values(["date", "course_id", "agent_id"], kind="stable").reset_index(drop=True)
    out.attrs["present"] = True
    return _keep(key, out)


# registers loaded, by file, options and the file's sha256: a batch kernel's notebooks load the same
# register three times per unit (about 25 ms each); a changed file is loaded and checked again
_LOADED: dict[tuple, pd.DataFrame] = {}
LOADED_REGISTERS = 16


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def _keep(key: tuple, frame: pd.DataFrame) -> pd.DataFrame:
    if len(_LOADED) >= LOADED_REGISTERS:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = frame.copy()
    return frame


def check_agents(register: pd.DataFrame, roster: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a register into rows whose agent is on the archive's roster (with their team and
    department) and rows naming agents the roster does not have (reported, never silently dropped).

    Parameters
    ----------
    register : DataFrame
        From :func:`load_coaching` or :func:`load_training` (``agent_id`` and ``row``).
    roster : DataFrame
        The archive's agents (``agent_id, team, department``), every unit.

    Returns
    -------
    known : DataFrame
        The register's rows with ``team`` and ``department`` added.
    unknown : DataFrame
        ``agent_id, row`` of the rows naming an agent the roster lacks.
    """
    roster = roster.drop_duplicates("agent_id")[["agent_id", "team", "department"]]
    on = register["agent_id"].isin(roster["agent_id"])
    known = register[on].merge(roster, on="agent_id", how="left")
    known.attrs = dict(register.attrs)
    return known.reset_index(drop=True), register.loc[~on, ["agent_id", "row"]].reset_index(drop=True)
