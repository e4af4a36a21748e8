"""`make bench`: every benchmark, one table of ratios measured in this run.

    python benchmarks/run.py            # 10 M tickets, 20 teams (tens of minutes on 2 cores)
    python benchmarks/run.py --quick    # 1 M tickets, 6 teams
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, print_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 M tickets and 6 teams instead of 10 M and 20")
    parser.add_argument("--only", choices=["ingest", "kpis", "batch", "append"], action="append",
                        help="run only these benchmarks (repeatable)")
    args = parser.parse_args()
    tickets = 1_000_000 if args.quick else 10_000_000
    teams = 6 if args.quick else 20
    chosen = args.only or ["ingest", "kpis", "batch", "append"]
    CACHE.mkdir(parents=True, exist_ok=True)
    rows = []
    if "kpis" in chosen:
        import bench_kpis
        rows += bench_kpis.run(tickets)
        print_table(rows)
    if "ingest" in chosen:
        import bench_ingest
        rows.append(bench_ingest.run(tickets))
        print_table(rows)
    if "append" in chosen:  # one week appended to the 10 M archive vs that week ingested alone (issue 17)
        import bench_append
        large = Path(bench_append.ARCHIVE_1M if args.quick else bench_append.ARCHIVE_10M)
        if large.exists():
            rows += bench_append.run(large)
        elif Path(bench_append.ARCHIVE_1M).exists():  # no 10 M archive: nine earlier years added to the 1 M one
            rows += bench_append.run(bench_append.ARCHIVE_1M, years=9)
        else:
            print(f"append: skipped, no archive at {large} (set QAKIT_BENCH_ARCHIVE or build one)")
        print_table(rows)
    if "batch" in chosen:
        import bench_batch
        rows += bench_batch.run(teams)
    print_table(rows, CACHE / ("results_quick.json" if args.quick else "results.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
