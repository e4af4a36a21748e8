"""Kill ingest and batch runs at random moments (SIGKILL) and count what they leave behind.

    python benchmarks/fault_injection.py                       # 50 ingest kills, 20 batch kills
    python benchmarks/fault_injection.py --ingest-kills 5 --batch-kills 2

Ingest: the archive alternates between two exports (A and B). Each round starts
``qakit ingest`` of the other export, SIGKILLs it after a random delay (uniform between 0 and
1.1 x the time a whole ingest takes, so some runs finish first) and checks the archive: its files
re-hashed must give the fingerprint of A or of B, whole, and every table must load with the row
count of its report. At the end one more ingest must leave no debris.

Batch: each round starts a fresh ``qakit run`` (not ``--resume``), SIGKILLs it after a random
delay (uniform up to the time of the latest whole run), then checks that no worker or kernel it
started is alive 5 s later, that the manifest
reads, and that ``qakit run --resume`` exits 0, reruns exactly what was not recorded as done, and
leaves a manifest whose every output is the file it records.

The scripted kills at named points (before, during and after the switch) are in
``tests/test_faults.py``; this script adds the moments nobody scripted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_helpers.data.ingest import ingest  # noqa: E402
from qa_helpers.data.sample import generate  # noqa: E402
from qa_helpers.faults import TAG_ENV, archive_state, leftovers, manifest_problems, tagged_processes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _start(args: list[str], tag: str) -> subprocess.Popen:
    env = {**os.environ, TAG_ENV: tag, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "qa_helpers", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_after(process: subprocess.Popen, delay: float) -> bool:
    """SIGKILL ``process`` after ``delay`` seconds; False when it had already finished."""
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def _survivors(tag: str, within_s: float = 5.0) -> int:
    deadline = time.monotonic() + within_s
    while (alive := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(alive)


def ingest_kills(base: Path, kills: int, tickets: int, rng: random.Random) -> Counter:
    raws, known = {}, {}
    for name, seed in (("A", 3), ("B", 4)):
        raws[name] = base / f"raw-{name}"
        generate(raws[name], seed=seed, n_tickets=tickets)
        known[name] = ingest(raws[name], base / f"reference-{name}" / "archive")["fingerprint"]
    archive = base / "data" / "archive"
    started = time.perf_counter()  # a whole `qakit ingest`, Python start-up and imports included
    first = _start(["ingest", "--raw", str(raws["A"]), "--archive", str(archive)], uuid.uuid4().hex)
    assert first.wait() == 0, first.stderr.read()
    whole = time.perf_counter() - started
    print(f"ingest of {tickets:,} tickets: {whole:.1f} s; killing at random in 0-{1.1 * whole:.1f} s")
    outcomes: Counter = Counter({"kills that left debris beside the archive": 0})
    current = "A"
    for round_ in range(kills):
        target = "B" if current == "A" else "A"
        process = _start(["ingest", "--raw", str(raws[target]), "--archive", str(archive)], uuid.uuid4().hex)
        killed = _kill_after(process, rng.uniform(0, 1.1 * whole))
        state = archive_state(archive, known)
        debris = bool(leftovers(archive))
        if state in known:
            kind = ("ingest killed" if killed else "ingest finished") + (", old archive whole" if state == current
                                                                        else ", new archive whole")
            current = state
        else:
            kind = f"INCONSISTENT: {state}"
        outcomes[kind] += 1
        outcomes["kills that left debris beside the archive"] += debris
        print(f"  ingest round {round_ + 1:2d}: {kind}{' (debris left)' if debris else ''}", flush=True)
    ingest(raws["A"], archive)
    outcomes["debris after the next complete ingest"] = len(leftovers(archive)) + len(list(archive.parent.glob(".archive-*")))
    return outcomes


def batch_kills(base: Path, kills: int, units: str, notebooks: str, rng: random.Random) -> Counter:
    archive = base / "data" / "archive"
    out = base / "reports"
    run = ["run", "--period", "2025-Q3", "--teams", units, "--notebooks", notebooks, "--archive", str(archive),
           "--out", str(out), "--jobs", "2"]
    started = time.perf_counter()
    first = _start(run, uuid.uuid4().hex)
    assert first.wait() == 0, first.stderr.read()
    whole = time.perf_counter() - started
    print(f"batch ({units} x {notebooks}): {whole:.1f} s; killing at random in 0-{whole:.1f} s")
    period_dir = out / "2025-Q3"
    outcomes: Counter = Counter({"processes alive 5 s after the kill": 0, "--resume completed correctly": 0})
    for round_ in range(kills):
        tag = uuid.uuid4().hex
        window = whole
        delay = rng.uniform(0, window)
        killed = _kill_after(_start(run, tag), delay)
        alive = _survivors(tag)
        manifest = json.loads((period_dir / "manifest.json").read_text(encoding="utf-8"))
        done = {(e["team"], e["notebook"]) for e in manifest["entries"] if e["status"] == "ok"}
        resume, resumed_at = _start([*run, "--resume"], uuid.uuid4().hex), time.perf_counter()
        code = resume.wait()
        if not done and code == 0:  # a resume that ran everything times a whole run: the machine's load moves
            whole = time.perf_counter() - resumed_at
        after = json.loads((period_dir / "manifest.json").read_text(encoding="utf-8"))
        skipped = {(e["team"], e["notebook"]) for e in after["entries"] if e["status"] == "skipped"}
        problems = manifest_problems(period_dir)
        correct = code == 0 and skipped == done and not problems and \
            all(e["status"] in ("ok", "skipped") for e in after["entries"])
        outcomes["batch killed" if killed else "batch finished before the kill"] += 1
        outcomes["processes alive 5 s after the kill"] += alive
        outcomes["--resume completed correctly"] += correct
        print(f"  batch round {round_ + 1:2d}: {'killed' if killed else 'finished'} at {delay:.1f} s of ~{window:.0f} s "
              f"with {len(done)} of "
              f"{len(manifest['entries'])} done; survivors {alive}; resume exit {code}, reran "
              f"{len(after['entries']) - len(skipped)}, problems {problems or 'none'}", flush=True)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest-kills", type=int, default=50)
    parser.add_argument("--batch-kills", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=5_000, help="tickets per export (default 5000)")
    parser.add_argument("--units", default="HL-A,HL-B,FS-1")
    parser.add_argument("--notebooks", default="standards,scorecard")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random kill times")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="qakit-faults-") as folder:
        base = Path(folder)
        os.environ.setdefault("QAKIT_KEY_FILE", str(base / "pseudonym.key"))
        results = ingest_kills(base, args.ingest_kills, args.tickets, rng)
        results.update(batch_kills(base, args.batch_kills, args.units, args.notebooks, rng))
    print("\noutcome counts:")
    for outcome, count in sorted(results.items()):
        print(f"  {count:4d}  {outcome}")
    bad = sum(c for o, c in results.items() if o.startswith("INCONSISTENT")) \
        + results["processes alive 5 s after the kill"] + results["debris after the next complete ingest"] \
        + (args.batch_kills - results["--resume completed correctly"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
