"""The ``qakit`` command (also ``python -m qa_helpers``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import QAKitError


def _cmd_sample(args: argparse.Namespace) -> int:
    from .sample import generate

    truth = generate(args.out, seed=args.seed, n_tickets=args.tickets, n_teams=args.teams)
    n_files = len([p for p in Path(args.out).iterdir() if p.name != "truth.json"])
    print(f"wrote {n_files} raw exports for {len(truth['teams'])} teams and truth.json to {args.out}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest, report_table

    report = ingest(args.raw, args.archive, config=args.config)
    print(report_table(report).to_string(index=False))
    for table, entry in report["sources"].items():
        for warning in entry["warnings"]:
            print(f"note: {table}: {warning}")
    print(f"archive written to {args.archive} (report: {Path(args.archive) / 'ingest_report.json'})")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .archive import archive_path, units
    from .execute import archive_parameter, notebook_steps, run_notebook
    from .periods import parse_period

    period = parse_period(args.period)
    archive = archive_path(args.archive)
    known = units(archive)
    wanted = list(known["unit"]) if args.teams == "all" else [t.strip() for t in args.teams.split(",")]
    unknown = [u for u in wanted if u not in set(known["unit"])]
    if unknown:
        raise QAKitError(f"unknown unit(s) {unknown}; valid units: {', '.join(known['unit'])}")
    steps = notebook_steps()
    chosen = list(steps) if args.notebooks == "all" else [n.strip() for n in args.notebooks.split(",")]
    unknown = [n for n in chosen if n not in steps]
    if unknown:
        raise QAKitError(f"unknown notebook(s) {unknown}; notebooks are {', '.join(steps)}")
    out = Path(args.out) / period.label
    failures = []
    jobs = [(unit, step) for unit in wanted for step in chosen]
    for unit, step in tqdm(jobs, desc=f"qakit run {period.label}", unit="notebook"):
        result = run_notebook(step, unit, period.label, out / unit, archive_parameter(archive),
                              html=not args.no_html, show_code=args.show_code)
        if result.status != "ok":
            failures.append(result)
    for result in failures:
        print(f"FAILED {result.unit}/{result.step}: {result.error} (see {result.ipynb})", file=sys.stderr)
    print(f"{len(jobs) - len(failures)} of {len(jobs)} notebooks ok; reports in {out}")
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qakit", description="Customer-service quality kit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate the sample raw exports with planted truth")
    p.add_argument("--out", required=True, help="folder for the raw exports")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--tickets", type=int, default=80_000, help="tickets over the year (default 80000)")
    p.add_argument("--teams", type=int, default=6, help="number of teams, 6 or more (default 6)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("ingest", help="validate, clean and archive raw exports")
    p.add_argument("--raw", required=True, help="folder with the raw exports")
    p.add_argument("--archive", required=True, help="archive folder (replaced when ingest succeeds)")
    p.add_argument("--config", default=None, help="source mapping (default config/sources.yml)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("run", help="run notebooks for units of analysis and a period, render HTML")
    p.add_argument("--period", required=True, help="2025, 2025-Q1, 2025-03 or 2025-W10")
    p.add_argument("--teams", default="all", help="'all' or a comma-separated list of teams / departments / ALL")
    p.add_argument("--notebooks", default="all", help="'all' or a comma-separated list of steps")
    p.add_argument("--archive", default=None, help="archive folder (default $QAKIT_ARCHIVE or data/archive)")
    p.add_argument("--out", default="reports", help="output folder (default reports)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML rendering")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clear message and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QAKitError as exc:
        print(f"qakit {args.command}: error: {exc}", file=sys.stderr)
        return 2
