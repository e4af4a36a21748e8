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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clear message and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QAKitError as exc:
        print(f"qakit {args.command}: error: {exc}", file=sys.stderr)
        return 2
