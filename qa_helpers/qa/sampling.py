"""The QA review sample sized to the QA team's capacity, and QA coverage (issue 12, item 5).

The QA team reviews a fixed number of tickets a period (``qa:`` in ``standards.yml``). The
sample for the next period is exactly that many tickets (all of them when the unit has fewer),
spread across strata (channel × category × risk) in proportion to their size, with a minimum
per stratum and the risk classes oversampled: a complaint ticket is ``complaint`` times, a
low-CSAT ticket ``low_csat`` times as likely to be drawn as an ordinary ticket of the same
channel and category. Within a stratum the draw is a simple random sample, so each sampled
ticket carries the design weight ``population / sampled`` of its stratum: weighted estimates
from the reviews stay unbiased for the whole unit, and the weights sum to its ticket count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from qa_helpers.periods import Period

RISK_CLASSES: tuple[str, ...] = ("complaint", "low_csat", "other")
"""A ticket's risk class: linked to a complaint; else answered with a low CSAT; else other."""

DEFAULT_QA: dict = {"reviews_per_week": 11, "by_team": {}, "min_per_stratum": 1, "low_csat_max": 2,
                    "oversample": {"complaint": 3.0, "low_csat": 2.0}}
"""Used for any key the ``qa:`` section leaves out (see ``config/standards.yml`` for why these values)."""


def qa_settings(standards_raw: Mapping) -> dict:
    """The ``qa:`` section of a standards document with defaults filled in."""
    given = dict(standards_raw.get("qa") or {})
    settings = {**DEFAULT_QA, **given}
    settings["oversample"] = {**DEFAULT_QA["oversample"], **(given.get("oversample") or {})}
    return settings


def review_capacity(standards_raw: Mapping, teams: Sequence[str], period: Period) -> pd.DataFrame:
    """Reviews the QA team can do for each team in a period, and in total.

    Parameters
    ----------
    standards_raw : mapping
        The standards document (``Standards.raw``); its ``qa:`` section gives ``reviews_per_week``
        per team and ``by_team`` overrides (reviews per week).
    teams : sequence of str
        The unit's teams (a team, a department's teams, or every team for ``ALL``).
    period : Period
        The period to review; capacity scales with its length in weeks (days / 7), rounded.

    Returns
    -------
    DataFrame
        ``team, reviews_per_week, capacity``, one row per team (a unit's capacity is the sum).
    """
    settings = qa_settings(standards_raw)
    weeks = (period.end - period.start).days / 7
    per_week = [float(settings["by_team"].get(team, settings["reviews_per_week"])) for team in teams]
    return pd.DataFrame({"team": list(teams), "reviews_per_week": per_week,
                         "capacity": np.round(np.asarray(per_week) * weeks).astype(int)})


def risk_class(tickets: pd.DataFrame, surveys: pd.DataFrame, complaints: pd.DataFrame,
               low_csat_max: int = 2) -> pd.Series:
    """Each ticket's risk class (``complaint``, ``low_csat`` or ``other``), aligned with ``tickets``.

    A ticket is a complaint ticket when a complaint names it; low-CSAT when a survey answer on it
    scored ``low_csat_max`` or less (seed 000's 1-5 scale). A ticket that is both counts as a complaint.
    """
    complained = tickets["ticket_id"].isin(complaints["ticket_id"].dropna())
    low = surveys.loc[pd.to_numeric(surveys["csat"], errors="coerce") <= low_csat_max, "ticket_id"].dropna()
    low_scored = tickets["ticket_id"].isin(low)
    return pd.Series(np.select([complained.to_numpy(), low_scored.to_numpy()], ["complaint", "low_csat"], "other"),
                     index=tickets.index, name="risk")


def _stratum_label(frame: pd.DataFrame, strata: Sequence[str]) -> pd.Series:
    values = frame[list(strata)].astype(object)
    return values.where(values.notna(), "None").astype(str).agg("|".join, axis=1)  # a missing value: "None"


def allocate(population: pd.Series, factor: pd.Series, capacity: int, minimum: int = 1) -> pd.Series:
    """Split ``capacity`` reviews across strata: proportional to population × factor, at least
    ``minimum`` per stratum (or its whole population when smaller), never more than its population.

    The scale is found so the clipped allocations sum to the capacity, then rounded by largest
    remainder, so the total is exactly ``min(capacity, population total)``. When the capacity
    cannot give every stratum its minimum, the minimum is lowered for all strata until it can.

    Returns
    -------
    Series
        Reviews per stratum, indexed like ``population``.
    """
    size = population.to_numpy(dtype=float)
    weight = size * factor.reindex(population.index).to_numpy(dtype=float)
    total = int(min(capacity, size.sum()))
    floor = np.minimum(size, minimum)
    while floor.sum() > total:
        minimum -= 1
        floor = np.minimum(size, max(minimum, 0))
    low, high = 0.0, 1.0
    while np.clip(high * weight, floor, size).sum() < total:
        high *= 2
    for _ in range(200):  # bisection on the scale: the clipped sum grows with it
        mid = (low + high) / 2
        low, high = (mid, high) if np.clip(mid * weight, floor, size).sum() < total else (low, mid)
    exact = np.clip(high * weight, floor, size)
    whole = np.floor(exact + 1e-9)
    short = int(total - whole.sum())
    room = np.where(whole < size, exact - whole, -np.inf)
    whole[np.argsort(-room, kind="stable")[:short]] += 1
    return pd.Series(whole.astype(int), index=population.index, name="sample_size")


def capacity_sample(frame: pd.DataFrame | str, capacity: int, seed: int,
                    strata: Sequence[str] = ("channel", "category"),
                    oversample: Mapping[str, float] | None = None, minimum: int = 1,
                    connection=None, counts: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw the review sample: ``capacity`` tickets (all when fewer), stratified and oversampled.

    The draw runs in DuckDB, so a year of every team is sampled without loading its tickets: one
    pass counts each stratum, :func:`allocate` splits the capacity, a second pass keeps in each
    stratum the ``sample_size`` tickets with the smallest seeded hash of their ``ticket_id``
    (:func:`draw_key`, MD5 of ``ticket_id:seed``; ties by ``ticket_id``). The hash orders a stratum's
    tickets at random, so this is a simple random sample within the stratum, reproducible from
    the seed and the set of tickets whatever their row order, file layout or DuckDB version.

    Parameters
    ----------
    frame : DataFrame or str
        The population: ``ticket_id``, the ``strata`` columns and ``risk`` (from ``risk_class``),
        as rows or as a DuckDB source (:func:`population_sql`). No other column is carried into the
        sample (no customer data reaches the CSV).
    capacity : int
        Reviews the QA team can do (``review_capacity(...)["capacity"].sum()``).
    seed : int
        Random seed: the same seed and the same tickets give the same sample, whatever their row order.
    strata : sequence of str
        Columns crossed with ``risk`` to form the strata.
    oversample : mapping, optional
        Factor per risk class (``{"complaint": 3, "low_csat": 2}``); classes not named get 1.
    minimum : int, default 1
        Reviews per stratum at least (a stratum smaller than that is taken whole).
    connection : DuckDB connection, optional
        The connection to run on (a report context's ``ctx.duckdb``); a new one without.
    counts : DataFrame, optional
        The population's tickets per stratum when already counted (:func:`ticket_counts` of the same
        tickets, by the ``strata`` and more); without, they are counted on ``frame``.

    Returns
    -------
    (sample, allocation)
        ``sample``: ``ticket_id, <strata>, risk, stratum, design_weight`` sorted by stratum and ticket.
        ``allocation``: ``<strata>, risk, stratum, population, factor, sample_size, design_weight``.
    """
    import duckdb

    columns = ["ticket_id", *strata, "risk"]
    con = connection or duckdb.connect()
    if isinstance(frame, pd.DataFrame):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"review sample: missing column(s) {missing}; have {list(frame.columns)}")
        if frame["ticket_id"].duplicated().any():
            raise ValueError("review sample: ticket_id must be unique in the population")
        name = f"review_population_{id(frame)}"
        con.register(name, frame[columns])
        source = name
    else:
        source = frame
    if capacity < 0:
        raise ValueError(f"review sample: capacity must be 0 or more, got {capacity}")
    keys = [*strata, "risk"]
    cols = ", ".join(_ident(k) for k in keys)
    # the population is evaluated twice (count, then draw): a temp table of it for one evaluation cost as
    # much to write as the second evaluation saved at 10 M tickets, and held 0.5 GB more
    if counts is None:
        alloc = con.execute(f"SELECT {cols}, count(*) AS population FROM {source} GROUP BY ALL").df()
    else:
        alloc = counts_by(counts, keys)[[*keys, "tickets"]].rename(columns={"tickets": "population"})
    alloc["population"] = alloc["population"].astype("int64")
    alloc.insert(len(keys), "stratum", _stratum_label(alloc, keys) if len(alloc) else pd.Series(dtype=str))
    alloc = alloc.sort_values("stratum", kind="stable").set_index("stratum", drop=False)
    factors = {**{risk: 1.0 for risk in RISK_CLASSES}, **{k: float(v) for k, v in (oversample or {}).items()}}
    alloc["factor"] = alloc["risk"].map(factors).fillna(1.0)
    alloc["sample_size"] = allocate(alloc["population"], alloc["factor"], capacity, minimum)
    alloc["design_weight"] = alloc["population"] / alloc["sample_size"].replace(0, np.nan)
    sample = _hash_draw(con, source, alloc, keys, seed)
    sample = sample.assign(design_weight=sample["stratum"].map(alloc["design_weight"]))
    if isinstance(frame, pd.DataFrame):
        con.unregister(source)
        sample = sample.astype({c: frame[c].dtype for c in columns if c != "risk"})
    return (sample.sort_values(["stratum", "ticket_id"], kind="stable").reset_index(drop=True)[
                [*columns, "stratum", "design_weight"]],
            alloc.reset_index(drop=True))


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


_HASH_SPAN = float(2 ** 64)


def _digest(column: str, seed: int) -> str:
    return f"md5(CAST({column} AS VARCHAR) || ':{int(seed)}')"


def draw_key(column: str, seed: int) -> str:
    """SQL for a ticket's place in the seeded draw: the first 64 bits of MD5(``ticket_id:seed``), as
    16 lower-case hex digits (fixed width, so they sort as the numbers do; no cast to UBIGINT, which
    cost more than the hash itself at 10 M tickets).

    MD5 is fixed by its standard, so the same seed draws the same tickets whatever the DuckDB
    version (DuckDB's own ``hash()`` is not promised stable across versions) and an auditor can
    recompute it (``hashlib.md5(f"{ticket_id}:{seed}".encode()).hexdigest()[:16]``).
    """
    return f"substr({_digest(column, seed)}, 1, 16)"


def _hash_draw(con, source: str, alloc: pd.DataFrame, keys: list[str], seed: int) -> pd.DataFrame:
    """Each stratum's ``sample_size`` tickets with the smallest :func:`draw_key` of ``ticket_id`` and ``seed``.

    Only tickets below a per-stratum bound on the hash (a few standard deviations above the
    expected ``sample_size / population`` quantile) reach the ranking; a stratum whose bound
    kept too few tickets is drawn again without it, so the result is exact either way. The bound is
    tested on the whole MD5 hex against the bound's 16 digits followed by ``f``s (the same test as on
    the first 16 digits, without cutting every ticket's digest: that cut cost half as much as the hash).
    """
    wanted = alloc[alloc["sample_size"] > 0]
    empty = pd.DataFrame({**{c: pd.Series(dtype=object) for c in ["ticket_id", *keys, "stratum"]}})
    if wanted.empty:
        return empty

    def bound(row) -> str | None:
        n, size = float(row.sample_size), float(row.population)
        share = (n + 4 * np.sqrt(n) + 16) / size
        return None if share >= 1 else f"{int(share * _HASH_SPAN):016x}" + "f" * 16

    def draw(rows: pd.DataFrame, bounded: bool) -> pd.DataFrame:
        table = pd.DataFrame({**{f"k{i}": rows[k].astype(object).where(rows[k].notna(), None).to_numpy()
                                 for i, k in enumerate(keys)},
                              "s": rows["stratum"].to_numpy(), "n": rows["sample_size"].astype("int64").to_numpy(),
                              "b": pd.Series([bound(r) if bounded else None for r in rows.itertuples(index=False)],
                                             dtype=object)})
        name = f"review_strata_{id(table)}"
        con.register(name, table)
        try:
            match = " AND ".join(f"p.{_ident(k)} IS NOT DISTINCT FROM a.k{i}" for i, k in enumerate(keys))
            carried = ", ".join(f"p.{_ident(k)}" for k in keys)
            # the largest stratum's bound, implied by each stratum's own, tested on the population's rows
            # before they are classified and matched to strata: most tickets stop there (a fifth less
            # CPU for the whole draw at 10 M tickets)
            widest = table["b"].max() if table["b"].notna().all() else None
            first = f"{_digest('p.ticket_id', seed)} <= '{widest}' AND " if widest else ""  # hex digits: no quoting needed
            sql = (f"SELECT p.ticket_id, {carried}, a.s AS stratum FROM {source} p JOIN {name} a ON {match} "
                   f"WHERE {first}(a.b IS NULL OR {_digest('p.ticket_id', seed)} <= a.b) "
                   f"QUALIFY row_number() OVER (PARTITION BY a.s ORDER BY {draw_key('p.ticket_id', seed)}, "
                   f"p.ticket_id) <= a.n")
            return con.execute(sql).df()
        finally:
            con.unregister(name)

    picked = draw(wanted, bounded=True)
    got = picked.groupby("stratum").size().reindex(wanted["stratum"], fill_value=0)
    short = got.index[got.to_numpy() < wanted["sample_size"].to_numpy()]
    if len(short):  # the bound kept too few (rare): those strata again, unbounded
        picked = pd.concat([picked[~picked["stratum"].isin(short)],
                            draw(wanted[wanted["stratum"].isin(short)], bounded=False)], ignore_index=True)
    return picked


def population_sql(tickets: str, surveys: str | None, complaints: str | None,
                   strata: Sequence[str] = ("channel", "category"), low_csat_max: int = 2) -> str:
    """The review population as a DuckDB source: ``ticket_id, <strata>, risk`` per ticket.

    The SQL twin of :func:`risk_class`: a ticket named by a complaint is ``complaint``, else one
    answered with a CSAT of ``low_csat_max`` or less is ``low_csat``, else ``other``.

    Parameters
    ----------
    tickets, surveys, complaints : str
        DuckDB sources (``ctx.source(...)``); ``surveys`` needs ``ticket_id, csat``, ``complaints``
        ``ticket_id``; None when the archive lacks them (no ticket is then in that class).
    strata : sequence of str
        The tickets' stratum columns to carry.
    low_csat_max : int
        The highest CSAT answer that counts as low.

    Returns
    -------
    str
        A parenthesised SELECT usable wherever a table is.
    """
    cases = []
    if complaints is not None:
        cases.append(f"WHEN t.ticket_id IN (SELECT ticket_id FROM {complaints} WHERE ticket_id IS NOT NULL) "
                     "THEN 'complaint'")
    if surveys is not None:
        cases.append(f"WHEN t.ticket_id IN (SELECT ticket_id FROM {surveys} WHERE ticket_id IS NOT NULL AND "
                     f"TRY_CAST(csat AS DOUBLE) <= {float(low_csat_max)}) THEN 'low_csat'")
    risk = f"CASE {' '.join(cases)} ELSE 'other' END" if cases else "'other'"
    carried = "".join(f", t.{_ident(c)}" for c in strata)
    return f"(SELECT t.ticket_id{carried}, {risk} AS risk FROM {tickets} t)"


def qa_coverage(tickets: pd.DataFrame | str, reviews: pd.DataFrame | str, unit: str,
                by: str | None = "channel", connection=None) -> pd.DataFrame:
    """QA coverage: the share of the period's tickets with an ordinary QA review, for the unit and per
    ``by`` group. Calibration reviews (reviewers re-scoring tickets to align their scales) do not count:
    the one definition, held against the ``qa_coverage`` target (the programme's, issue 17).

    Parameters
    ----------
    tickets : DataFrame or str
        The unit's tickets of the period (``ticket_id`` and ``by``), as rows or as a DuckDB source
        (``ctx.source("tickets", columns=[...])``: counted in DuckDB, no row loaded).
    reviews : DataFrame or str
        QA reviews (``ticket_id``, and ``calibration`` when the archive has it); a ticket reviewed
        several times counts once, a review of a ticket not in ``tickets`` (another period or unit)
        does not count.
        A DuckDB source when ``tickets`` is one.
    unit : str
        The label of the unit row.
    by : str or None, default ``"channel"``
        Grouping for the detail rows; None for the unit row only.

    Returns
    -------
    DataFrame
        ``level, group, tickets, reviewed, coverage`` (coverage NaN when there are no tickets).
    """
    if isinstance(tickets, str):
        return _qa_coverage_sql(tickets, reviews, unit, by, connection)
    if "calibration" in reviews:
        reviews = reviews[~reviews["calibration"].fillna(False).astype(bool)]
    reviewed = tickets["ticket_id"].isin(reviews["ticket_id"].dropna())
    frames = [pd.DataFrame({"level": ["unit"], "group": [unit], "tickets": [len(tickets)],
                            "reviewed": [int(reviewed.sum())]})]
    if by is not None:
        grouped = reviewed.groupby(tickets[by].astype(str)).agg(["size", "sum"]).reset_index()
        frames.append(pd.DataFrame({"level": by, "group": grouped[by], "tickets": grouped["size"],
                                    "reviewed": grouped["sum"].astype(int)}))
    out = pd.concat(frames, ignore_index=True)
    out["coverage"] = out["reviewed"] / out["tickets"].replace(0, np.nan)
    return out


def _qa_coverage_sql(tickets: str, reviews: str, unit: str, by: str | None, connection=None) -> pd.DataFrame:
    """:func:`qa_coverage` on DuckDB sources: tickets and reviewed tickets counted per group in DuckDB."""
    return coverage_from_counts(ticket_counts(tickets, [by] if by is not None else [], reviews,
                                              connection=connection), unit, by)


def ticket_counts(tickets: str, by: Sequence[str], reviews: str | None = None, surveys: str | None = None,
                  complaints: str | None = None, low_csat_max: int = 2, connection=None) -> pd.DataFrame:
    """Tickets per combination of the ``by`` columns and risk class, with how many were reviewed and how
    many have an ordinary (not calibration) review, in one DuckDB scan of the tickets.

    QA coverage (per channel), the QA programme (per team) and the review sample's strata (channel ×
    category × risk) all count the same tickets of the period: one scan and one match of every ticket
    against the reviews, complaints and low-CSAT surveys serves the three (they cost a scan and a match
    each before).

    Parameters
    ----------
    tickets : str
        DuckDB source of the tickets: ``ticket_id`` and the ``by`` columns.
    by : sequence of str
        Ticket columns to count per (crossed); a missing value is a group of its own.
    reviews : str, optional
        DuckDB source of the QA reviews: ``ticket_id`` and, when it has one, ``calibration`` (a review whose
        flag is missing counts as ordinary). A ticket reviewed several times counts once; a review of a
        ticket not in ``tickets`` does not count. None: no ticket is reviewed.
    surveys, complaints, low_csat_max
        As for :func:`population_sql`: the risk class of each ticket, the same as there.
    connection : DuckDB connection, optional
        The connection to run on; a new one without.

    Returns
    -------
    DataFrame
        ``<by>, risk, tickets, reviewed, reviewed_ordinary``, one row per combination present.
    """
    import duckdb

    con = connection or duckdb.connect()
    # one row per ticket id named anywhere: its risk rank (2 complaint, 1 low CSAT) and review flags
    parts = []
    if complaints is not None:
        parts.append(f"SELECT ticket_id, 2 AS k, false AS r, false AS o FROM {complaints} WHERE ticket_id IS NOT NULL")
    if surveys is not None:
        parts.append(f"SELECT ticket_id, 1 AS k, false AS r, false AS o FROM {surveys} WHERE ticket_id IS NOT NULL AND "
                     f"TRY_CAST(csat AS DOUBLE) <= {float(low_csat_max)}")
    if reviews is not None:
        ordinary = "calibration IS NOT TRUE" if "calibration" in con.sql(f"SELECT * FROM {reviews}").columns else "true"
        parts.append(f"SELECT ticket_id, 0 AS k, true AS r, {ordinary} AS o FROM {reviews} WHERE ticket_id IS NOT NULL")
    carried = "".join(f"t.{_ident(c)}, " for c in by)
    if parts:
        flags = (f"(SELECT ticket_id, max(k) AS k, bool_or(r) AS r, bool_or(o) AS o FROM "
                 f"({' UNION ALL '.join(parts)}) GROUP BY ticket_id)")
        sql = _counts_sql(tickets, by, flags)
    else:
        sql = (f"SELECT {carried}'other' AS risk, count(*) AS tickets, 0 AS reviewed, 0 AS reviewed_ordinary "
               f"FROM {tickets} t GROUP BY ALL")
    counts = con.execute(sql).df()
    numbers = ["tickets", "reviewed", "reviewed_ordinary"]
    counts[numbers] = counts[numbers].astype("int64")
    return counts


def _counts_sql(tickets: str, by: Sequence[str], flags: str) -> str:
    """:func:`ticket_counts`' SQL: per ``by`` group and risk class, the tickets, those reviewed and those with an
    ordinary review, from the tickets and their ``flags`` (``ticket_id, k, r, o``: risk rank, reviewed,
    reviewed ordinarily; one row per ticket id named anywhere).

    The same counts as a LEFT JOIN of every ticket to its flags, counted per group and class, with a tenth of
    the tickets matched: only the flagged tickets are counted through the join (an inner join, which emits only
    the tickets it finds), the rest per group without one (every ticket of a group less its flagged ones is an
    unreviewed ``other``); the LEFT JOIN carried all 10 M tickets of a year through the join and the count.
    """
    columns = [_ident(c) for c in by]
    carried = "".join(f"t.{c}, " for c in columns)
    plain = "".join(f"{c}, " for c in columns)
    same = " AND ".join(f"e.{c} IS NOT DISTINCT FROM s.{c}" for c in columns) or "true"
    return (f"WITH f AS {flags}, "
            f"hit AS (SELECT {carried}f.k, f.r, f.o, count(*) AS n FROM {tickets} t "
            f"JOIN f ON t.ticket_id = f.ticket_id GROUP BY ALL), "
            f"every AS (SELECT {carried}count(*) AS n FROM {tickets} t GROUP BY ALL), "
            f"seen AS (SELECT {plain}sum(n) AS n FROM hit GROUP BY ALL), "
            f"rest AS (SELECT {''.join(f'e.{c}, ' for c in columns)}0 AS k, false AS r, false AS o, "
            f"e.n - coalesce(s.n, 0) AS n FROM every e LEFT JOIN seen s ON {same}) "
            f"SELECT {plain}CASE k WHEN 2 THEN 'complaint' WHEN 1 THEN 'low_csat' ELSE 'other' END AS risk, "
            "CAST(sum(n) AS BIGINT) AS tickets, CAST(coalesce(sum(n) FILTER (WHERE r), 0) AS BIGINT) AS reviewed, "
            "CAST(coalesce(sum(n) FILTER (WHERE o), 0) AS BIGINT) AS reviewed_ordinary "
            f"FROM (SELECT * FROM hit UNION ALL SELECT * FROM rest) GROUP BY ALL HAVING sum(n) > 0")


def counts_by(counts: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """:func:`ticket_counts` summed per ``keys`` (a missing value: None, its own group, sorted last)."""
    numbers = ["tickets", "reviewed", "reviewed_ordinary"]
    if not keys:
        return pd.DataFrame({c: [int(counts[c].sum())] for c in numbers})
    summed = counts.groupby(list(keys), dropna=False, sort=False)[numbers].sum().reset_index()
    summed[list(keys)] = summed[list(keys)].astype(object).where(summed[list(keys)].notna(), None)
    return summed.sort_values(list(keys), kind="stable", na_position="last").reset_index(drop=True)


def coverage_from_counts(counts: pd.DataFrame, unit: str, by: str | None) -> pd.DataFrame:
    """:func:`qa_coverage`'s table from :func:`ticket_counts` (counted per ``by`` among others): a ticket
    is covered by an ordinary review (``reviewed_ordinary``), as in :func:`qa_coverage`."""
    reviewed = "reviewed_ordinary"
    frames = [pd.DataFrame({"level": ["unit"], "group": [unit], "tickets": [int(counts["tickets"].sum())],
                            "reviewed": [int(counts[reviewed].sum())]})]
    if by is not None:  # as the rows' groupby: tickets without a value are in the unit row only
        rows = counts_by(counts, [by])
        rows = rows[rows[by].notna()]
        frames.append(pd.DataFrame({"level": by, "group": rows[by].astype(str).to_numpy(),
                                    "tickets": rows["tickets"].to_numpy(),
                                    "reviewed": rows[reviewed].astype(int).to_numpy()}))
    out = pd.concat(frames, ignore_index=True)
    out["coverage"] = out["reviewed"] / out["tickets"].replace(0, np.nan)
    return out


def sample_against_capacity(sample: pd.DataFrame, population: int, capacity: int) -> pd.DataFrame:
    """One row: the tickets to sample from, the QA capacity, the sample drawn, the share of capacity
    it uses and the share of the tickets it will review (``sample_share``: sample / tickets; not QA coverage,
    which counts the reviews done)."""
    return pd.DataFrame({"tickets": [population], "capacity": [capacity], "sampled": [len(sample)],
                         "capacity_used": [len(sample) / capacity if capacity else np.nan],
                         "sample_share": [len(sample) / population if population else np.nan]})
