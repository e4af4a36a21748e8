"""`make bench`: every benchmark, one dated table of ratios and budgets measured in this run.

    python benchmarks/run.py            # 10 M tickets, 20 teams, and the 1 M / 10 M / 30 M growth rows
                                        # (17 minutes on 2 cores on 2026-12-05, the archives cached)
    python benchmarks/run.py --quick    # 1 M tickets, 6 teams, no growth rows (--growth adds them)
    python benchmarks/run.py --only notebooks --archive /path/to/archive_10M
    python benchmarks/run.py --only growth --growth-sizes 1,10

Every ratio is the median of at least 3 alternating runs, printed with each side's min–max.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (CACHE, adopt_orphans, cpu_seconds, drop_stale_archives, foreign_cpu, measured_at, print_table,  # noqa: E402
                    reap_children, results_path, speed_probe)

CHOICES = [
    "kpis",
    "ingest",
    "append",
    "notebooks",
    "batch",
    "growth",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 M tickets and 6 teams instead of 10 M and 20")
    parser.add_argument("--only", choices=CHOICES, action="append", help="run only these benchmarks (repeatable)")
    parser.add_argument("--growth", action="store_true", help="with --quick: add the growth rows")
    parser.add_argument("--growth-sizes", default="1,10,30",
                        help="millions of tickets of the growth rows (default 1,10,30)")
    parser.add_argument("--batch-teams", type=int, default=None,
                        help="run the batch benchmark on this many of the archive's teams (default: all)")
    parser.add_argument("--loop-teams", type=int, default=2,
                        help="teams the papermill loop is timed over, scaled to the batch's (default 2)")
    parser.add_argument("--archive", type=Path, default=None,
                        help="an archive of every table for the notebook benchmark (default: built and cached)")
    args = parser.parse_args()
    tickets = 1_000_000 if args.quick else 10_000_000
    teams = 6 if args.quick else 20
    chosen = args.only or [c for c in CHOICES if c != "growth" or args.growth or not args.quick]
    CACHE.mkdir(parents=True, exist_ok=True)
    removed = drop_stale_archives()
    if removed:
        print(f"benchmarks/.cache: archives of an older layout removed, rebuilt as needed: {', '.join(removed)}")
    started = measured_at()
    adopt_orphans()  # a kernel a killed run leaves behind is reaped here and counted as the benchmark's CPU
    probe = {"start": speed_probe()}
    rows: list[dict] = []
    foreign: dict[str, dict] = {}
    names = [c for c in CHOICES if c in chosen]
    for name in names:
        reap_children()
        since, wall = cpu_seconds(), time.perf_counter()
        rows += _benchmark(name, tickets, teams, args)
        reap_children()
        spent = foreign_cpu(since)
        foreign[name] = {"wall_s": round(time.perf_counter() - wall, 1),
                         "foreign_cpu_s": round(spent["foreign"], 1) + 0.0,  # + 0.0: "0.0", not "-0.0"
                         "own_cpu_s": round(spent["own"], 1), "kernel_threads_cpu_s": round(spent["kernel_threads"], 1)}
        if name != names[-1]:
            print_table(rows, foreign=foreign)
    probe["end"] = speed_probe()
    print_table(rows, results_path(args.quick, names if args.only else None), started=started, probe=probe,
                foreign=foreign)
    return 0


def _benchmark(name: str, tickets: int, teams: int, args: argparse.Namespace) -> list[dict]:
    """The rows of one benchmark of :data:`CHOICES`."""
    if name == "kpis":
        import bench_kpis
        return bench_kpis.run(tickets)
    if name == "ingest":
        import bench_ingest
        return [bench_ingest.run(tickets)]
    if name == "append":  # one week appended to the 10 M archive vs that week ingested alone (issue 17)
        import bench_append
        return bench_append.run(bench_append.large_archive(tickets))  # $QAKIT_BENCH_ARCHIVE, or the cache's
    if name == "notebooks":
        import bench_notebooks
        return bench_notebooks.run(tickets, args.archive)
    if name == "batch":
        import bench_batch
        return bench_batch.run(teams, use_teams=args.batch_teams, loop_teams=args.loop_teams)
    if name == "growth":
        import bench_growth
        return bench_growth.run(tuple(int(float(m) * 1_000_000) for m in args.growth_sizes.split(",")))
    raise ValueError(f"no benchmark {name!r}")


if __name__ == "__main__":
    raise SystemExit(main())
