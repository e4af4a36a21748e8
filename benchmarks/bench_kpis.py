"""KPI tables over 10 M archived tickets ÷ a hand-written DuckDB query of the same figures.

Team × week × channel, every KPI of the standards. The two results must be identical (the
benchmark checks), and the kit's peak memory is measured in a child process.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from common import alternating, child_peak_memory_mb, median_ratio

GOAL = 1.5
MEMORY_GOAL_MB = 3 * 1024
BY = ["team", "week", "channel"]
TABLES = ("tickets", "surveys", "complaints", "field_visits", "qa_reviews")
PART_TABLES = {"t": "tickets", "s": "surveys", "c": "complaints", "v": "field_visits", "q": "qa_reviews"}


def archive(n_tickets: int) -> Path:
    """The benchmark's archive of every table (:func:`bench_notebooks.full_archive`, shared with the
    notebook and append benchmarks): ingested from a generated export, copied up to ``n_tickets``."""
    from bench_notebooks import full_archive

    return full_archive(n_tickets)


def sources(folder: Path) -> dict[str, str]:
    return {t: f"read_parquet('{folder / t}/*/*.parquet', hive_partitioning = true)" for t in TABLES}


HAND_WRITTEN = """
WITH t AS (
  SELECT team, CAST(date_trunc('week', created_at) AS TIMESTAMP) AS week, channel,
         avg(CASE WHEN first_contact_resolved THEN 1.0 ELSE 0.0 END) AS fcr, count(*) AS fcr_n,
         avg(first_response_s) AS avg_first_response_s, count(first_response_s) AS avg_first_response_s_n,
         median(first_response_s) AS median_first_response_s, count(first_response_s) AS median_first_response_s_n,
         avg(handle_s) AS aht_s, count(handle_s) AS aht_s_n,
         avg(CASE WHEN first_response_s <= CASE channel WHEN 'phone' THEN 30 WHEN 'chat' THEN 10
                  WHEN 'email' THEN 14400 WHEN 'social' THEN 1800 END THEN 1.0 ELSE 0.0 END)
             FILTER (WHERE channel IN ('phone', 'chat', 'email', 'social')) AS response_on_time,
         count(*) FILTER (WHERE channel IN ('phone', 'chat', 'email', 'social')) AS response_on_time_n,
         avg(CASE WHEN reopened THEN 1.0 ELSE 0.0 END) AS reopen_rate, count(*) AS reopen_rate_n,
         count(*) / count(DISTINCT agent_id) AS workload_per_agent, count(*) AS workload_per_agent_n,
         median(epoch(resolved_at - created_at)) AS resolution_time_s, count(resolved_at) AS resolution_time_s_n,
         avg(CASE WHEN epoch(resolved_at - created_at) <= CASE priority WHEN 'high' THEN 24 * 3600 ELSE 48 * 3600 END
                  THEN 1.0 ELSE 0.0 END) AS resolved_within_sla, count(*) AS resolved_within_sla_n
  FROM {tickets} GROUP BY 1, 2, 3),
s AS (
  SELECT team, CAST(date_trunc('week', answered_at) AS TIMESTAMP) AS week, channel,
         avg(CASE WHEN csat >= 4 THEN 1.0 ELSE 0.0 END) FILTER (WHERE source = 'survey') AS csat,
         count(*) FILTER (WHERE source = 'survey') AS csat_n,
         avg(csat) FILTER (WHERE source = 'survey') AS csat_mean, count(csat) FILTER (WHERE source = 'survey') AS csat_mean_n,
         avg(CASE WHEN nps >= 9 THEN 100.0 WHEN nps <= 6 THEN -100.0 ELSE 0.0 END) FILTER (WHERE nps IS NOT NULL) AS nps,
         count(*) FILTER (WHERE nps IS NOT NULL) AS nps_n
  FROM {surveys} GROUP BY 1, 2, 3),
c AS (
  SELECT team, CAST(date_trunc('week', received_at) AS TIMESTAMP) AS week, channel,
         avg(CASE WHEN coalesce(epoch(first_response_at - received_at) <= 86400, false) THEN 1.0 ELSE 0.0 END)
             AS complaint_24h, count(*) AS complaint_24h_n, count(*) AS complaints
  FROM {complaints} GROUP BY 1, 2, 3),
v AS (
  SELECT team, CAST(date_trunc('week', promised_at) AS TIMESTAMP) AS week, channel,
         avg(CASE WHEN arrived_at <= promised_at THEN 1.0 ELSE 0.0 END) FILTER (WHERE arrived_at IS NOT NULL)
             AS onsite_arrival_on_time, count(*) FILTER (WHERE arrived_at IS NOT NULL) AS onsite_arrival_on_time_n,
         avg(CASE WHEN NOT rework_required THEN 1.0 ELSE 0.0 END) FILTER (WHERE rework_required IS NOT NULL)
             AS solution_accuracy, count(*) FILTER (WHERE rework_required IS NOT NULL) AS solution_accuracy_n
  FROM {field_visits} GROUP BY 1, 2, 3),
q AS (
  SELECT team, CAST(date_trunc('week', reviewed_at) AS TIMESTAMP) AS week, channel,
         avg(CASE WHEN process_compliant THEN 1.0 ELSE 0.0 END)
             FILTER (WHERE process_compliant IS NOT NULL AND NOT calibration) AS process_compliance,
         count(*) FILTER (WHERE process_compliant IS NOT NULL AND NOT calibration) AS process_compliance_n
  FROM {qa_reviews} GROUP BY 1, 2, 3)
SELECT 't' AS part, * FROM t
"""


def hand_written(con: duckdb.DuckDBPyConnection, src: dict[str, str]) -> pd.DataFrame:
    """The reference: plain SQL per table, then complaints per 1 000 tickets, in tidy form."""
    parts = {}
    queries = HAND_WRITTEN.format(**src).split("SELECT 't' AS part")[0]
    for name, table in PART_TABLES.items():
        # a table without every breakdown column has no figures at that breakdown, in the kit as here
        # (the ingested QA reviews carry no channel)
        if set(BY) - {"week"} <= set(con.sql(f"SELECT * FROM {src[table]} LIMIT 0").columns):
            parts[name] = con.sql(queries + f"SELECT * FROM {name}").df()
    tidy = []
    for frame in parts.values():
        kpis = [c for c in frame.columns if c not in BY and not c.endswith("_n") and c != "complaints"]
        for k in kpis:
            tidy.append(frame[[*BY, k, f"{k}_n"]].rename(columns={k: "value", f"{k}_n": "n"}).assign(kpi=k))
    rate = parts["t"][[*BY, "fcr_n"]].merge(parts["c"][[*BY, "complaints"]], on=BY, how="left")
    rate["value"] = rate["complaints"].fillna(0) / rate["fcr_n"] * 1000
    tidy.append(rate.rename(columns={"fcr_n": "n"})[[*BY, "value", "n"]].assign(kpi="complaints_per_1000"))
    return pd.concat(tidy, ignore_index=True)


def check_equal(kit: pd.DataFrame, reference: pd.DataFrame) -> int:
    """Every reference figure appears in the kit's table with the same n and value; return the count."""
    merged = reference.merge(kit, on=[*BY, "kpi"], how="left", suffixes=("_ref", "_kit"), validate="one_to_one")
    assert merged["n_kit"].notna().all(), "the kit is missing groups the reference has"
    assert (merged["n_ref"].astype("int64") == merged["n_kit"].astype("int64")).all(), "n differs"
    both = merged["n_ref"] > 0
    assert np.allclose(merged.loc[both, "value_ref"], merged.loc[both, "value_kit"], rtol=1e-9, atol=1e-12,
                       equal_nan=True), "values differ"
    extra = kit.merge(reference[[*BY, "kpi"]], on=[*BY, "kpi"], how="left", indicator=True)
    assert (extra.loc[extra["_merge"] == "left_only", "n"] == 0).all(), "the kit has figures the reference lacks"
    return int(both.sum())


def run(n_tickets: int, repeat: int = 3) -> list[dict]:
    from qa_helpers.measures.kpis import kpi_table
    from qa_helpers.measures.standards import load_standards

    folder = archive(n_tickets)
    src = sources(folder)
    std = load_standards().raw
    con = duckdb.connect()

    last: dict[str, pd.DataFrame] = {}

    def kit_once():
        last["kit"] = kpi_table(src, by=BY, standards=std, connection=con)

    def reference_once():
        last["reference"] = hand_written(con, src)

    kit_once(), reference_once()  # warm the file cache for both
    times = alternating({"kit": kit_once, "reference": reference_once}, repeat=repeat)
    compared = check_equal(last["kit"], last["reference"])
    code = ("import sys; sys.path.insert(0, 'benchmarks'); from bench_kpis import sources, BY; from pathlib import Path; "
            "from qa_helpers.measures.kpis import kpi_table; from qa_helpers.measures.standards import load_standards; "
            f"print(len(kpi_table(sources(Path('{folder}')), by=BY, standards=load_standards().raw)))")
    peak_mb, _ = child_peak_memory_mb(code)
    return [median_ratio(times["kit"], times["reference"], f"<= {GOAL}", lambda r: r <= GOAL,
                         f"KPI tables, team x week x channel, {n_tickets / 1e6:g} M tickets ({compared:,} figures "
                         f"identical to the reference), median of {repeat} alternating runs", "hand-written DuckDB SQL"),
            {"benchmark": "KPI tables: peak memory of a fresh process", "kit_s": None, "reference": "3 GB budget",
             "reference_s": None, "ratio": round(peak_mb / MEMORY_GOAL_MB, 2), "goal": "<= 1.0",
             "met": peak_mb <= MEMORY_GOAL_MB, "peak_mb": round(peak_mb)}]

