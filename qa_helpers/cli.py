"""The ``qakit`` command (also ``python -m qa_helpers``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from qa_helpers.errors import QAKitError
from qa_helpers.periods import parse_period
from qa_helpers.preflight import (check_config, check_ingest_target, check_jobs, check_run_target,
                                  check_sample_size, check_scheduler, creatable_file, writable_folder)


def _cmd_sample(args: argparse.Namespace) -> int:
    from qa_helpers.data.sample import TABLES, generate

    tables = tuple(t.strip() for t in args.tables.split(",")) if args.tables else TABLES
    check_sample_size(args.tickets, args.teams)
    writable_folder(args.out, "--out folder")
    truth = generate(args.out, seed=args.seed, n_tickets=args.tickets, n_teams=args.teams, tables=tables)
    n_files = len([p for p in Path(args.out).iterdir() if p.name != "truth.json"])
    print(f"wrote {n_files} raw exports for {len(truth['teams'])} teams and truth.json to {args.out}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from qa_helpers.data.ingest import ingest, report_table

    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    if args.check:
        # a dry run writes nothing, so it needs no archive folder; the path only names the target
        archive = args.archive or Path(tempfile.gettempdir()) / f"qakit-check-{os.getpid()}"
        report = ingest(args.raw, archive, config=args.config, tables=tables, check=True)
        print(report_table(report).to_string(index=False))
        print(check_summary(report))
        return 0
    if not args.archive:
        raise QAKitError("--archive is required (only --check runs without one)")
    if args.key_file:  # the pseudonymisation key file, wherever the archive is (an s3:// archive never holds it)
        from qa_helpers.data.privacy import KEY_FILE_ENV

        os.environ[KEY_FILE_ENV] = str(Path(args.key_file).absolute())
    check_ingest_target(args.archive)
    if args.append:  # incremental ingest (issue 17): only the new exports, only the months they touch
        from qa_helpers.data.append import append

        if tables:
            raise QAKitError("--append takes every source it finds files for; leave out --tables")
        report = append(args.raw, args.archive, config=args.config)
        batch = report["batches"][-1]
        print(f"batch {batch['batch']} appended:")
        print(report_table(batch).to_string(index=False))
        for skipped in batch.get("skipped", []):
            print(f"note: {skipped['name']}: already ingested in batch {skipped['batch']} (same content); skipped")
        print(f"archive written to {args.archive} (report: {Path(args.archive) / 'ingest_report.json'})")
        return 0
    report = ingest(args.raw, args.archive, config=args.config, tables=tables)
    print(report_table(report).to_string(index=False))
    for table, entry in report["sources"].items():
        for warning in entry["warnings"]:
            print(f"note: {table}: {warning}")
    from qa_helpers.data import storage

    written = f"{storage.current(args.archive)}/ingest_report.json" if storage.is_remote(args.archive) \
        else Path(args.archive) / 'ingest_report.json'
    print(f"archive written to {args.archive} (report: {written})")
    return 0


def _given(value) -> bool:
    return value is not None and value == value and value != ""  # NaN is not equal to itself


def check_summary(report: dict) -> str:
    """What ``ingest --check`` found: per source, what would be quarantined and why, with examples."""
    lines = []
    for table, entry in report["sources"].items():
        lines.append(f"{table}: {entry['raw']:,} raw rows, {entry['archived']:,} would be archived, "
                     f"{entry['quarantined']:,} quarantined")
        examples = entry.get("examples") or {}
        for rule, count in entry["by_rule"].items():
            if not count:
                continue
            lines.append(f"  {rule}: {count:,} row(s)")
            for example in examples.get(rule, []):
                where = ", ".join(f"{k} {example[k]}" for k in ("file", "row", "column") if _given(example.get(k)))
                lines.append(f"    e.g. {where}: {example.get('detail')}")
        lines += [f"  note: {warning}" for warning in entry.get("warnings", [])]
    lines.append("nothing was written (--check)")
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    from qa_helpers.run.batch import run_batch

    check_jobs(args.jobs)
    check_run_target(args.out, parse_period(args.period).label)
    check_config(args.config)
    if args.scheduler:
        check_scheduler(args.scheduler)
    manifest = run_batch(args.period, teams=args.teams, departments=args.departments, notebooks=args.notebooks,
                         out=args.out, archive=args.archive, jobs=args.jobs, resume=args.resume,
                         html=not args.no_html, show_code=args.show_code, scheduler=args.scheduler,
                         notebooks_dir=args.notebooks_dir, config=args.config, language=args.language)
    period_dir = Path(args.out) / manifest["period"]
    asked = {(u, s) for u in manifest["run"]["units"] for s in manifest["run"]["notebooks"]}
    this_run = [e for e in manifest["entries"] if (e["team"], e["notebook"]) in asked]
    counts = {s: sum(e["status"] == s for e in this_run) for s in ("ok", "failed", "skipped", "no data")}
    for name in manifest["failed"]:
        entry = next(e for e in manifest["entries"] if f"{e['team']}/{e['notebook']}" == name)
        print(f"FAILED {name}: {entry['error']} (log: {period_dir / (entry['outputs']['log'] or '')})", file=sys.stderr)
    print(f"{counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped (unchanged), "
          f"{counts['no data']} not run (no tickets in the period)")
    print(f"index: {(period_dir / 'index.html').resolve()}")
    return 1 if manifest["failed"] else 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from qa_helpers.monitor.alerts import alerts_for_units
    from qa_helpers.data.archive import archive_path
    from qa_helpers.run.batch import select_units

    path = archive_path(args.archive)
    unit_list = None if args.teams == "teams" else select_units(path, args.teams)
    table = alerts_for_units(args.period, unit_list, archive=path, config=args.config)
    if args.format == "json":
        print(json.dumps(json.loads(table.to_json(orient="records", date_format="iso")), ensure_ascii=False, indent=2))
    elif table.empty:
        print(f"no alerts for {args.period}")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
            print(table.to_string(index=False))
    return 1 if args.fail_on_alert and len(table) else 0


def _cmd_map(args: argparse.Namespace) -> int:
    from qa_helpers.data.draft import map_export
    from qa_helpers.data.profile import format_profile, profile_export

    if args.out:
        creatable_file(args.out, "--out file")
    print(format_profile(profile_export(args.file)))
    draft = map_export(args.file, table=args.table, out=args.out, config=args.config)
    if args.out:
        print(f"draft mapping written to {args.out}: check its guesses and TODOs, then "
              f"`qakit ingest --raw <exports> --config {Path(args.out).parent} --check`")
    else:
        print(draft)
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from qa_helpers.data.archive import archive_location, archive_path
    from qa_helpers.data.governance import purge

    archive_path(args.archive)  # refuses a missing or altered archive with one line
    due = purge(archive_location(args.archive), as_of=args.as_of, approve=args.approve, config=args.config,
                parameters={"as_of": args.as_of, "approve": args.approve, "config": args.config})
    if due.empty:
        print("nothing is due for destruction")
        return 0
    print(due[["table", "month", "rows", "years", "due_since"]].to_string(index=False))
    print(f"removed {len(due)} month(s), approved by {args.approve}" if args.approve else
          f"{len(due)} month(s) due; nothing removed: destroy them with --approve \"<name / ticket>\"")
    return 0


def _cmd_bundle(args: argparse.Namespace) -> int:
    from qa_helpers.report.bundle import make_bundle

    index = make_bundle(args.period, args.team.split(","), args.out, reports=args.reports, archive=args.archive)
    print(f"bundle for {args.team}: {index.resolve()}")
    return 0


CONFIG_HELP = ("config folder (default $QAKIT_CONFIG, else config/); without standards.yml the kit's standards "
               "apply")
ARCHIVE_HELP = "archive folder or s3://bucket/prefix (default $QAKIT_ARCHIVE or data/archive)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qakit", description="Customer-service quality kit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate the sample raw exports with planted truth")
    p.add_argument("--out", required=True, help="folder for the raw exports")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--tickets", type=int, default=80_000, help="tickets over the year (default 80000)")
    p.add_argument("--teams", type=int, default=6, help="number of teams, 6 or more (default 6)")
    p.add_argument("--tables", default=None, help="comma-separated exports to write (default all; roster and "
                                                  "tickets always)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("ingest", help="validate, clean and archive raw exports")
    p.add_argument("--raw", required=True, help="folder with the raw exports")
    p.add_argument("--archive", default=None, help="archive folder or s3://bucket/prefix (replaced when ingest "
                                                   "succeeds); required unless --check")
    p.add_argument("--key-file", default=None, help="the pseudonymisation key file (default $QAKIT_KEY_FILE, else "
                                                    "beside a local archive, or ~/.qakit/keys/s3/... for s3://)")
    p.add_argument("--config", default=None, help=CONFIG_HELP + " (its sources.yml is required)")
    p.add_argument("--tables", default=None, help="comma-separated sources to ingest, with what they depend on "
                                                  "(default all)")
    p.add_argument("--check", action="store_true", help="dry run: print what would be quarantined and why "
                                                        "(by rule, with examples); write nothing")
    p.add_argument("--append", action="store_true", help="add these new exports to the existing archive: only the "
                                                         "months they touch are rewritten; a file already "
                                                         "ingested is skipped (all of them: refused)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("run", help="run notebooks for units of a period in parallel; render HTML and an index")
    p.add_argument("--period", required=True, help="2025, 2025-Q1, 2025-03 or 2025-W10")
    p.add_argument("--teams", default=None,
                   help="'all' (every team, department and ALL) or a comma-separated list of units "
                        "(default: all, unless --departments is given)")
    p.add_argument("--departments", default=None, help="comma-separated departments: each rollup plus all its teams")
    p.add_argument("--notebooks", default="all", help="'all' or a comma-separated list of steps")
    p.add_argument("--jobs", type=int, default=None, help="notebooks run at once (default: number of cores)")
    p.add_argument("--resume", action="store_true", help="skip notebooks already done and unchanged")
    p.add_argument("--no-html", action="store_true", help="skip the HTML rendering")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--archive", default=None, help=ARCHIVE_HELP)
    p.add_argument("--out", default="reports", help="output folder (default reports)")
    p.add_argument("--notebooks-dir", default=None, help="run your own NN_step.ipynb notebooks instead of the kit's")
    p.add_argument("--config", default=None, help=CONFIG_HELP)
    p.add_argument("--language", choices=["en", "zh"], default="en",
                   help="language of the reports and the index (default en)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("alerts", help="print the monitoring alerts (thresholds and coaching) for schedulers")
    p.add_argument("--period", required=True, help="2025, 2025-Q1, 2025-03 or 2025-W10")
    p.add_argument("--teams", default="teams",
                   help="'teams' (every team, default), 'all' (teams, departments and ALL) or a comma-separated list")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--fail-on-alert", action="store_true", help="exit with status 1 when any alert fired")
    p.add_argument("--archive", default=None, help=ARCHIVE_HELP)
    p.add_argument("--config", default=None, help=CONFIG_HELP)
    p.set_defaults(func=_cmd_alerts)

    p = sub.add_parser("map", help="profile a raw export and draft its mapping for sources.yml")
    p.add_argument("file", help="the export (csv, xlsx or jsonl)")
    p.add_argument("--table", default="tickets", help="the canonical table it feeds (default tickets)")
    p.add_argument("--out", default=None, help="write the draft mapping to this file instead of printing it")
    p.add_argument("--config", default=None, help=CONFIG_HELP)
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser("purge", help="list archived months past their retention; destroy them with --approve")
    p.add_argument("--archive", default=None, help=ARCHIVE_HELP)
    p.add_argument("--as-of", default=None, help="judge retention on this day (YYYY-MM-DD; default today)")
    p.add_argument("--approve", default=None, help="name / ticket of whoever approved the destruction; "
                                                   "without it nothing is removed")
    p.add_argument("--config", default=None, help=CONFIG_HELP + " (retention: in its sources.yml)")
    p.set_defaults(func=_cmd_purge)

    p = sub.add_parser("bundle", help="copy one audience's reports (a team, or a department) with their own index")
    p.add_argument("--period", required=True, help="the period as run, e.g. 2025-Q4")
    p.add_argument("--team", required=True, help="unit(s) the audience may see, comma-separated")
    p.add_argument("--out", required=True, help="new folder for the bundle")
    p.add_argument("--reports", default="reports", help="the reports folder of qakit run (default reports)")
    p.add_argument("--archive", default=None, help=ARCHIVE_HELP)
    p.set_defaults(func=_cmd_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one clear message and exit with status 2."""
    args = build_parser().parse_args(argv)
    if args.command == "run" and args.teams is None and args.departments is None:
        args.teams = "all"
    try:
        from qa_helpers.data.governance import record_command

        return record_command(args, args.func)  # appends to the archive's access log
    except QAKitError as exc:
        print(f"qakit {args.command}: error: {exc}", file=sys.stderr)
        return 2
