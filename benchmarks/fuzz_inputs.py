"""A large fuzz run of ``sim`` with hostile inputs, with counts (the nightly-size run of issue 15).

Draws ``--cases`` cases from ``tests/fuzzkit.py`` (mutated bundled scenarios, raw-YAML attacks,
``extends:`` tricks, special files) plus the corpus in ``tests/fuzz_corpus/``, runs each as
``sim validate`` and, when it validates, ``sim run`` (one replication, ``--max-calls 100000``),
every command a subprocess with a time limit (``--time-limit``, default 60 s) and a memory limit
(3 GB address space). Prints the counts: cases, commands, exit codes, tracebacks, hangs,
out-of-range KPIs, other problems, the slowest command and the peak memory. Failing cases are
written to ``--failures`` (default ``results/fuzz-failures/``) as corpus files to replay.

    PYTHONPATH=. python benchmarks/fuzz_inputs.py [--cases 1000] [--jobs 2] [--seed 0] [--hostile]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzzkit import Case, all_cases, hostile_cases, run_case  # noqa: E402


def draw_cases(n: int, seed: int, strategy=all_cases) -> list[Case]:
    """``n`` cases drawn by hypothesis (reproducible for a seed)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    drawn: list[Case] = []

    @hseed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case):
        drawn.append(case)

    collect()
    return drawn[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="generated cases")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at the same time")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per command")
    parser.add_argument("--failures", type=Path, default=ROOT / "results" / "fuzz-failures")
    parser.add_argument("--no-corpus", action="store_true", help="generated cases only")
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="only issue 26's classes: names to spreadsheets and terminals, links in folders",
    )
    args = parser.parse_args(argv)

    cases = draw_cases(args.cases, args.seed, hostile_cases if args.hostile else all_cases)
    if not args.no_corpus:
        corpus = sorted((ROOT / "tests" / "fuzz_corpus").glob("*.json"))
        cases += [Case.from_json(json.loads(p.read_text(encoding="utf-8"))) for p in corpus]
    print(f"{len(cases)} cases ({args.cases} generated), {args.jobs} at a time", flush=True)
    started = time.monotonic()
    outcomes = []
    failing: list[tuple[Case, list]] = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for i, (case, result) in enumerate(
            zip(cases, pool.map(lambda c: run_case(c, args.time_limit), cases), strict=True), 1
        ):
            outcomes += result
            if any(o.problems for o in result):
                failing.append((case, result))
            if i % 100 == 0:
                print(f"  {i}/{len(cases)} cases, {time.monotonic() - started:.0f} s", flush=True)
    report(cases, outcomes, failing, time.monotonic() - started)
    if failing:
        args.failures.mkdir(parents=True, exist_ok=True)
        for n, (case, result) in enumerate(failing):
            data = case.to_json() | {"problems": [o.problems for o in result]}
            path = args.failures / f"{n:04d}-{case.name}.json"
            path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"failing cases written to {args.failures}")
    return 1 if failing else 0


def report(cases, outcomes, failing, elapsed: float) -> None:
    kinds = collections.Counter(c.name.split("-")[0] for c in cases)
    codes = collections.Counter((o.command, o.exit_code) for o in outcomes)
    problems = collections.Counter(p.split(":")[0] for o in outcomes for p in o.problems)
    slowest = max(outcomes, key=lambda o: o.seconds)
    biggest = max(outcomes, key=lambda o: o.peak_mb)
    print(f"\ncases: {len(cases)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"commands: {len(outcomes)} in {elapsed:.0f} s")
    for (command, code), count in sorted(codes.items(), key=lambda x: (x[0][0], str(x[0][1]))):
        print(f"  sim {command}: exit {'killed' if code is None else code}: {count}")
    print(f"tracebacks: {problems.get('traceback', 0)}")
    print(f"hangs (killed at the time limit): {problems.get('hang', 0)}")
    out_of_range = sum(
        1 for o in outcomes for p in o.problems if "outside [0, 1]" in p or "< 0" in p
    )
    print(f"out-of-range KPIs: {out_of_range}")
    print(f"all problems: {dict(problems) or 'none'}; failing cases: {len(failing)}")
    print(f"slowest: sim {slowest.command} of {slowest.case}: {slowest.seconds:.1f} s")
    print(f"peak memory: {biggest.peak_mb:.0f} MB (sim {biggest.command} of {biggest.case})")


if __name__ == "__main__":
    sys.exit(main())
