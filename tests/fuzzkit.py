"""Fuzzing ``sim`` with hostile inputs: hypothesis strategies for mutated scenarios, and a runner
that executes each case as a subprocess with time and memory limits and judges the outcome.

Used by ``tests/test_fuzz.py`` (the corpus in ``tests/fuzz_corpus/`` and a CI-sized generated
run) and by ``benchmarks/fuzz_inputs.py`` (thousands of generated cases, with counts).

A case is a folder of files (some special: FIFOs, symlinks, sparse files) and a command, maybe
after commands that prepare it (a results folder to hand back, with links planted in it). The
verdict: exit 0 or 2 only, no traceback, within the time and memory limits, every error line
naming its file, no secret or data file quoted at large, no control character printed, no
formula in a workbook or CSV sim wrote, nothing written through a link into ``outside/``, and
after a run every KPI in range.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fuzz-secret-4f1c9a"
"""Put in the environment of every case: it must never appear in any output."""

BASES = [
    *sorted((ROOT / "scenarios").glob("*.yaml")),
    ROOT / "tests" / "scenarios" / "ok_tiny.yaml",
    ROOT / "tests" / "scenarios" / "business_small.yaml",
]
TIME_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 3072
RUN_ARGS = ["--replications", "1", "--workers", "1", "--executor", "serial", "--quiet"]
RUN_ARGS += ["--no-report", "--max-calls", "100000"]


@dataclass
class Case:
    """Files to lay out and a command; ``special`` entries are (kind, name, target)."""

    name: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    special: list[tuple[str, str, str]] = field(default_factory=list)
    command: str = "validate"
    target: str = "scenario.yaml"
    then_run: bool = True  # also `sim run` it when it validates
    args: list[str] = field(default_factory=list)  # after the target
    run_args: list[str] = field(default_factory=list)  # added to the `sim run` that follows
    prepare: list[list[str]] = field(default_factory=list)  # sim commands before ``special``

    def lay_out(self, folder: Path, special: bool = True) -> None:
        for name, content in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        if special:
            self.lay_out_special(folder)

    def lay_out_special(self, folder: Path) -> None:
        for kind, name, target in self.special:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind != "append" and (path.is_symlink() or path.is_file()):
                path.unlink()  # a file a prepared command wrote, replaced by the planted one
            elif kind != "append" and path.is_dir():
                shutil.rmtree(path)
            if kind == "append":  # a row planted in a file a prepared command wrote
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(target)
            elif kind == "fifo":
                os.mkfifo(path)
            elif kind == "symlink":
                path.symlink_to(target)
            elif kind == "sparse":  # a huge file that costs no disk
                with open(path, "wb") as fh:
                    fh.truncate(int(target))
            elif kind == "dir":
                path.mkdir()
            elif kind == "text":  # [template, text, n]: "@" in the template becomes text * n
                template, text, n = json.loads(target)
                path.write_text(template.replace("@", text * n), encoding="utf-8")

    def to_json(self) -> dict:
        files = {
            k: (v if isinstance(v, str) else {"bytes": v.hex()}) for k, v in self.files.items()
        }
        return {
            "name": self.name,
            "files": files,
            "special": self.special,
            "command": self.command,
            "target": self.target,
            "then_run": self.then_run,
            "args": self.args,
            "run_args": self.run_args,
            "prepare": self.prepare,
        }

    @classmethod
    def from_json(cls, data: dict) -> Case:
        files = {
            k: (bytes.fromhex(v["bytes"]) if isinstance(v, dict) else v)
            for k, v in data["files"].items()
        }
        special = [tuple(s) for s in data.get("special", [])]
        return cls(data["name"], files, special, data.get("command", "validate"),
                   data.get("target", "scenario.yaml"), data.get("then_run", True),
                   data.get("args", []), data.get("run_args", []),
                   data.get("prepare", []))  # fmt: skip


@dataclass
class Outcome:
    """What one command of a case did."""

    case: str
    command: str
    exit_code: int | None  # None: killed at the time limit
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    problems: list[str] = field(default_factory=list)


def _limits(memory_mb: int, cpu_s: float):
    def apply():
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s) + 1, int(cpu_s) + 2))

    return apply


def execute(
    args: list[str], cwd: Path, time_limit: float = TIME_LIMIT_S, memory_mb: int = MEMORY_LIMIT_MB
) -> tuple[int | None, float, float, str, str]:
    """Run ``python -m sim *args`` in ``cwd`` with limits: (exit, seconds, peak MB, out, err)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIM_FUZZ_SECRET": SECRET,
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "120"}  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", *args],
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            preexec_fn=_limits(memory_mb, time_limit),
        )  # fmt: skip
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - started > time_limit:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        proc.returncode = code if code is not None else -9  # reaped here, not by Popen
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        return code, seconds, usage.ru_maxrss / 1024.0, stdout, stderr


_LOCATED = re.compile(r"^(error: )?\S.*?:(\d+: |\s|$)")


def judge(outcome: Outcome, folder: Path) -> None:
    """Fill ``outcome.problems`` with every rule the command broke."""
    text = outcome.stdout + outcome.stderr
    if outcome.exit_code is None:
        outcome.problems.append(f"hang: killed after {outcome.seconds:.0f} s")
    elif outcome.exit_code not in (0, 2):
        outcome.problems.append(f"exit code {outcome.exit_code}")
    if "Traceback" in text:
        outcome.problems.append("traceback")
    if SECRET in text or "root:x:0:0" in text:
        outcome.problems.append("a secret or system file printed")
    if len(outcome.stderr) > 200_000:
        outcome.problems.append(f"{len(outcome.stderr):,} characters of error output")
    if outcome.exit_code == 2:
        lines = [ln for ln in outcome.stderr.splitlines() if ln.strip()]
        if not lines:
            outcome.problems.append("exit 2 without a message")
        if outcome.command == "validate" and any(not _LOCATED.match(ln) for ln in lines):
            outcome.problems.append("an error line without its file")
    if _ACTS.search(text):
        outcome.problems.append(f"a control character printed: {_ACTS.search(text)[0]!r}")
    if outcome.exit_code == 0:
        outcome.problems += formula_problems(folder / "out", csvs=outcome.command == "run")
    if outcome.command == "run" and outcome.exit_code == 0:
        outcome.problems += kpi_problems(folder / "out" / "summary.json")


_ACTS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
"""What a terminal acts on instead of showing (ESC sequences, C1, bidi controls)."""
_TRIGGERS = ("=", "+", "@", "\t", "\r")


def _regular_files(folder: Path):
    """The regular files under ``folder``, links not followed."""
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def formula_problems(out: Path, csvs: bool) -> list[str]:
    """Formula cells in the workbooks under ``out`` (and, ``csvs``, text cells of its CSV files
    that a spreadsheet would read as a formula); a secret or system file inside a workbook."""
    problems = []
    for path in _regular_files(out) if out.is_dir() else []:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    data = z.read(name)
                    if name.startswith("xl/worksheets/") and (b"<f>" in data or b"<f " in data):
                        problems.append(f"a formula cell in {path.name}:{name}")
                    if SECRET.encode() in data or b"root:x:0:0" in data:
                        problems.append(f"a secret or system file inside {path.name}")
        elif csvs and path.suffix == ".csv" and not path.name.startswith("calls"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for row in csv.reader(io.StringIO(text, newline="")):
                bad = [c for c in row if c.startswith(_TRIGGERS) or re.match(r"-[^0-9.]", c)]
                if bad:
                    problems.append(f"a formula-like cell in {path.name}: {bad[0][:40]!r}")
                    break
    return problems


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes (links not followed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in _regular_files(folder)}


def kpi_problems(summary: Path) -> list[str]:
    """KPIs out of range in a run's summary.json: shares outside [0, 1], negative figures."""
    from sim.scenario.kpis import unit_of

    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"no summary.json after exit 0: {exc}"]
    problems = []
    for name, k in data.get("kpis", {}).items():
        values = [k.get("mean"), *(k.get("ci95") or [])]
        for v in values:
            if v is None:
                continue
            if not math.isfinite(v):
                problems.append(f"{name} = {v}")
            elif unit_of(name).is_share and not -1e-12 <= v <= 1 + 1e-12:
                problems.append(f"{name} = {v} outside [0, 1]")
            elif not unit_of(name).is_share and v < -1e-9 and name not in ("open_calls",):
                problems.append(f"{name} = {v} < 0")
    return problems


def run_case(case: Case, time_limit: float = TIME_LIMIT_S) -> list[Outcome]:
    """Lay the case out in a temporary folder, run its command (and `sim run` if it validates)."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="simfuzz-") as tmp:
        folder = Path(tmp) / "case"
        folder.mkdir()
        case.lay_out(folder, special=not case.prepare)
        for command in case.prepare:
            res = execute(command, folder, time_limit)
            outcomes.append(Outcome(case.name, command[0], *res))
            judge(outcomes[-1], folder)
        if case.prepare:
            case.lay_out_special(folder)
        outside = snapshot(folder / "outside")
        args = [case.command, case.target, *case.args]
        res = execute(args, folder, time_limit)
        outcomes.append(Outcome(case.name, case.command, *res))
        judge(outcomes[-1], folder)
        if snapshot(folder / "outside") != outside:
            outcomes[-1].problems.append("written through a link into outside/")
        if case.command == "validate" and res[0] == 0 and case.then_run:
            run_args = [*RUN_ARGS, *case.run_args]
            res = execute(["run", case.target, "--out", "out", *run_args], folder, time_limit)
            outcomes.append(Outcome(case.name, "run", *res))
            judge(outcomes[-1], folder)
    return outcomes


# --- generating cases --------------------------------------------------------------------------


def _load(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def dump(data) -> str:
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


_BASE_DATA = [(p.stem, _load(p)) for p in BASES]
_NONSENSE = [
    None, True, False, 0, -1, -1e-9, 1e-300, 1e308, -1e308, 2**64, -(2**63), math.nan, math.inf,
    -math.inf, "", " ", "nan", ".inf", "never", "0s", "-5min", "25:99", "24:00", "08:30",
    "[/red]", "[link=http://x]y[/link]", "\x00", "\u202e", "ü" * 50, "x" * 5000, [], {}, [[]],
    {"dist": "never"}, {"dist": "fixed", "value": 0}, {"dist": "empirical", "file": "x.csv",
    "values": [-5]}, {"dist": "lognormal", "mean": 1, "cv": False}, [[0, 0, -1000]],
    {"mon": 100001}, {"probability": 1, "delay": {"dist": "fixed", "value": 0}},
]  # fmt: skip
_KEYS = ["rows", "values", "normalize", "extends", "file", "share", "cv", "mean", "dist",
         "staffing", "weekday_factors", "after_abandon", "at_least", "service_time"]  # fmt: skip


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated_scenarios(draw) -> Case:
    """A bundled scenario with 1 to 4 structural mutations or nonsense values."""
    import copy

    stem, base = draw(st.sampled_from(_BASE_DATA))
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(data, path[:-1])
        kind = draw(st.sampled_from(["value", "delete", "key", "type", "dup"]))
        if kind == "value":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(_NONSENSE)))
        elif kind == "delete":
            del parent[path[-1]]
        elif kind == "key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(_KEYS))] = copy.deepcopy(draw(st.sampled_from(_NONSENSE)))
        elif kind == "type":
            value = parent[path[-1]]
            parent[path[-1]] = [value] if not isinstance(value, list) else {"x": value}
        elif kind == "dup" and isinstance(parent, dict):
            parent[path[-1]] = copy.deepcopy(data)  # a scenario inside itself
    try:
        text = dump(data)
    except Exception:
        text = repr(data)
    return Case(f"mutated-{stem}", {"scenario.yaml": text, "x.csv": "seconds\n100\n200\n"})


_ODD = {  # in range, but odd: the run must end, quickly, with every KPI in range
    "rate_per_hour": [0, 0.001, 3000],
    "daily_volume": [0, 1, 40000],
    "staffing": [0, 1, 400, {"00:00": 0, "12:00": 50}],
    "count": [0, 1, 300],
    "patience": [{"dist": "fixed", "value": 0}, {"dist": "never"}, {"dist": "uniform",
                 "low": 0, "high": 1}],
    "handle_time": [{"dist": "fixed", "value": 0}, {"dist": "exponential", "mean": 0.001},
                    {"dist": "gamma", "mean": 3600, "cv": 20}],
    "first_contact_resolution": [0, 1],
    "self_service": [0, 1],
    "after_abandon": [{"probability": 1, "delay": {"dist": "exponential", "mean": 1}},
                      {"probability": 0.99, "delay": {"dist": "fixed", "value": 0}}],
    "after_unresolved": [{"probability": 1, "delay": {"dist": "fixed", "value": 1}}],
    "weekday_factors": [{"sat": 0, "sun": 0}, {"mon": 50}],
    "day_to_day_cv": [0, 5],
    "couriers": [0, 1, 500],
    "daily_capacity": [0, 1],
    "staff": [0, 1],
    "max_attempts": [1, 50],
    "retry_delay": [0, 1],
    "complaint_rate": [0, 1],
    "accept_rate": [0, 1],
    "shrinkage": [0, 0.99],
    "absenteeism": [0, 0.99],
    "warmup": [0],
}  # fmt: skip


@st.composite
def odd_valid_scenarios(draw) -> Case:
    """A bundled scenario, short, with in-range but extreme values: most validate and run."""
    import copy

    stem, base = draw(st.sampled_from(_BASE_DATA))
    data = copy.deepcopy(base)
    data["horizon"] = {"days": draw(st.integers(1, 3))}
    keys = sorted(_ODD)
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True)):
        for path in [p for p in _paths(data) if p and p[-1] == key]:
            parent = _get(data, path[:-1])
            if isinstance(parent, dict):
                parent[key] = copy.deepcopy(draw(st.sampled_from(_ODD[key])))
    return Case(f"odd-{stem}", {"scenario.yaml": dump(data)})


def _base_text(draw) -> str:
    return draw(st.sampled_from(BASES)).read_text(encoding="utf-8")


@st.composite
def raw_yaml_attacks(draw) -> Case:
    """Valid-looking files with billion laughs, deep nesting, directives, tags, bytes."""
    text = _base_text(draw)
    kind = draw(st.sampled_from(["laughs", "deep", "directive", "tag", "bytes", "cut", "big",
                                 "dupkey", "merge", "surrogate", "bom"]))  # fmt: skip
    if kind == "laughs":
        width, levels = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
        key = draw(st.sampled_from(["lol", "description", "customer_tiers"]))
        text += "\n".join(lines) + f"\n{key}: *a{levels - 1}\n"
    elif kind == "deep":
        depth = draw(st.sampled_from([30, 41, 100, 900, 3000, 20000]))
        if draw(st.booleans()):
            text += "deep: " + "[" * depth + "]" * depth + "\n"
        else:
            text += "deep:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, min(depth, 600)))
    elif kind == "directive":
        directives = ["%YAML 1.3", "%YAML 2.0", "%TAG ! tag:x,1:", "%YAML 1.1\n%YAML 1.1", "%FOO"]
        text = draw(st.sampled_from(directives)) + "\n---\n" + text
    elif kind == "tag":
        tag = draw(st.sampled_from(["!!python/object/apply:os.system ['echo pwned']",
                                    "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]",
                                    "!custom x", "!!timestamp 2001-12-14"]))  # fmt: skip
        text = text.replace("name: ", f"name: {tag}\nold_name: ", 1)
    elif kind == "bytes":
        raw = bytearray(text.encode("utf-8"))
        for _ in range(draw(st.integers(1, 20))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return Case("raw-bytes", {"scenario.yaml": bytes(raw)})
    elif kind == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif kind == "big":
        text += f"description: {'y' * draw(st.sampled_from([10**5, 10**6, 4 * 10**6]))}\n"
    elif kind == "dupkey":
        text += "name: twice\n"
    elif kind == "merge":
        text += "m: &m {a: 1}\nn: {<<: *m, <<: *m}\n"
    elif kind == "surrogate":
        text = text.replace("name: ", 'description: "\\ud800\\udfff\\x00"\nname: ', 1)
    elif kind == "bom":
        return Case("raw-bom", {"scenario.yaml": b"\xef\xbb\xbf" + text.encode("utf-8")})
    return Case(f"raw-{kind}", {"scenario.yaml": text})


_OUTSIDE = ["/etc/passwd", "/proc/self/environ", "/dev/zero", "/dev/urandom", "/proc/self/mem",
            "/sys/kernel/notes", "../outside.yaml", "../../etc/passwd", ".", "", "~/.ssh/id_rsa",
            "a\x00b.yaml", "x" * 5000 + ".yaml", "/", "nowhere.yaml"]  # fmt: skip


@st.composite
def extends_tricks(draw) -> Case:
    """``extends:`` to itself, in cycles, in long chains, out of the folder, to special files."""
    text = _base_text(draw)
    kind = draw(st.sampled_from(["self", "cycle", "chain", "outside", "symlink", "list"]))
    files: dict[str, str | bytes] = {}
    special: list[tuple[str, str, str]] = []
    if kind == "self":
        top = "extends: scenario.yaml\n" + text
    elif kind == "cycle":
        files["b.yaml"] = "extends: scenario.yaml\n"
        top = "extends: b.yaml\n" + text
    elif kind == "chain":
        n = draw(st.integers(2, 60))
        files["f0.yaml"] = text
        for i in range(1, n):
            files[f"f{i}.yaml"] = f"extends: f{i - 1}.yaml\n"
        top = f"extends: f{n - 1}.yaml\n"
    elif kind == "outside":
        top = f"extends: {json.dumps(draw(st.sampled_from(_OUTSIDE)))}\nname: x\n"
    elif kind == "symlink":
        special.append(("symlink", "base.yaml", draw(st.sampled_from(_OUTSIDE[:6]))))
        top = "extends: base.yaml\nname: x\n"
    else:
        top = "extends: [a.yaml, b.yaml]\n" + text
    files["scenario.yaml"] = top
    return Case(f"extends-{kind}", files, special)


@st.composite
def special_files(draw) -> Case:
    """Arrivals and empirical files that are FIFOs, devices, /proc, huge, binary or nonsense."""
    text = (ROOT / "tests" / "scenarios" / "ok_tiny.yaml").read_text(encoding="utf-8")
    where = draw(st.sampled_from(["arrivals", "empirical"]))
    kind = draw(st.sampled_from(["fifo", "symlink", "sparse", "dir", "absolute", "binary",
                                 "rows", "header", "empty"]))  # fmt: skip
    name, special, files = "data.csv", [], {}
    if kind == "fifo":
        special.append(("fifo", name, ""))
    elif kind == "symlink":
        special.append(("symlink", name, draw(st.sampled_from(_OUTSIDE[:6]))))
    elif kind == "sparse":
        special.append(("sparse", name, str(draw(st.sampled_from([10**8, 10**10])))))
    elif kind == "dir":
        special.append(("dir", name, ""))
    elif kind == "absolute":
        name = draw(st.sampled_from(_OUTSIDE))
    elif kind == "binary":
        files[name] = bytes(draw(st.lists(st.integers(0, 255), max_size=200)))
    elif kind == "rows":
        calls = draw(st.sampled_from(["nan", "inf", "-1", "1e12", "1e308", "x", "", "5"]))
        start = draw(st.sampled_from(["08:00", "25:00", "8", "", "08:00:00"]))
        day = draw(st.sampled_from(["", "0", "1", "-1", "99999", "1.5"]))
        files[name] = f"day,start,calls\n{day},{start},{calls}\n"
    elif kind == "header":
        files[name] = "Z" * draw(st.sampled_from([10, 10**4, 10**6])) + "\n1\n"
    else:
        files[name] = ""
    if where == "arrivals":
        text = text.replace("rate_per_hour: 30", f"file: {json.dumps(name)}")
    else:
        text = text.replace(
            "{dist: exponential, mean: 3min}", f"{{dist: empirical, file: {json.dumps(name)}}}"
        )
    files["scenario.yaml"] = text
    return Case(f"special-{where}-{kind}", files, special)


all_cases = st.one_of(
    mutated_scenarios(),
    odd_valid_scenarios(),
    raw_yaml_attacks(),
    extends_tricks(),
    special_files(),
)
"""Every kind of generated case."""


# --- names that reach spreadsheets and terminals; links in results folders (issue 26) ---------

_FORMULAS = ['=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0", "+1+1", "-2+3",
             "@SUM(A1:A9)", "\t=1", "'=1", "=1+1", "-", "'"]  # fmt: skip
_CONTROLS = ["\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "\x1b[2J\x1b[H",
             "\x1b[31mred", "a\u202eevil", "b\x85c", "c\x9bd", "\x07bell", "x\x7f",
             "\u2066iso\u2069", "\r=1"]  # fmt: skip
_NAMED = {  # where a name sits in ok_tiny: (the mapping holding it, its key)
    "call type": ("call_types", "general"),
    "tier": ("customer_tiers", "standard"),
    "group": ("agents.groups", "team"),
    "scenario": ("", "name"),
    "description": ("", "description"),
}


@st.composite
def hostile_names(draw) -> Case:
    """ok_tiny with a call type, tier, group, scenario name or description that looks like a
    formula or holds control characters; validated, then run with ``--xlsx`` and a CSV call log:
    refused at load, or written as text (never a formula, never sent raw to the terminal)."""
    import copy

    data = copy.deepcopy(dict(_BASE_DATA)["ok_tiny"])
    prefix = st.sampled_from(["=", "+", "-", "@", "\t", "'", "\x1b[", "\u202e", ""])
    name = draw(
        st.one_of(
            st.sampled_from(_FORMULAS + _CONTROLS),
            st.builds(lambda p, t: p + t, prefix, st.text(min_size=1, max_size=12)),
        )
    )
    where = draw(st.sampled_from(sorted(_NAMED)))
    path, key = _NAMED[where]
    if where in ("scenario", "description"):
        data[key] = name
    else:
        holder = _get(data, tuple(path.split(".")))
        holder[name] = holder.pop(key)
        team = data["agents"]["groups"]
        for group in team.values():
            group["skills"] = [name if s == key else s for s in group["skills"]]
    run_args = ["--xlsx", "--call-log", "--call-log-format", "csv"]
    return Case(f"name-{where}", {"scenario.yaml": dump(data)}, run_args=run_args)


_SECRET_CSV = f"a,b\n{SECRET},1\n"
_PLANTS = {  # a results folder "out" with one of these planted in it, then a command on it
    "passwd": [("symlink", "out/passwd.csv", "/etc/passwd")],
    "secret-csv": [("symlink", "out/secret.csv", "../outside/secret.csv")],
    "intervals-link": [("symlink", "out/intervals.csv", "../outside/secret.csv")],
    "summary-link": [("symlink", "out/summary.json", "../outside/summary.json")],
    "scenario-link": [("symlink", "out/scenario.yaml", "/etc/passwd")],
    "figures-link": [("symlink", "out/figures", "../outside")],
    "subfolder-link": [("symlink", "out/sub", "../outside")],
    "partial-link": [("symlink", ".out.partial", "outside")],
    "new-link": [("symlink", ".out.new-x", "outside")],
    "fifo": [("fifo", "out/fifo.csv", "")],
    "formula-row": [("append", "out/intervals.csv", '=HYPERLINK("http://evil.example","x"),+1\n')],
}
_ON_FOLDER = {
    "export": ("export", "out", []),
    "report": ("report", "out", []),
    "run": ("run", "scenario.yaml", ["--out", "out", *RUN_ARGS, "--xlsx"]),
}


@st.composite
def linked_results(draw) -> Case:
    """A run's results folder handed back (``sim export``, ``sim report``, ``sim run`` into it)
    with links, FIFOs or formula cells planted in it: nothing read or written through a link
    (``outside/`` unchanged, no secret in any output), no formula in the workbook."""
    plants = draw(st.lists(st.sampled_from(sorted(_PLANTS)), min_size=1, max_size=3, unique=True))
    command, target, args = _ON_FOLDER[draw(st.sampled_from(sorted(_ON_FOLDER)))]
    files = {
        "scenario.yaml": (ROOT / "tests" / "scenarios" / "ok_tiny.yaml").read_text("utf-8"),
        "outside/secret.csv": _SECRET_CSV,
        "outside/summary.json": json.dumps({"kpis": {}, "scenario": SECRET}),
    }
    prepare = [["run", "scenario.yaml", "--out", "out", *RUN_ARGS]]
    special = [s for p in plants for s in _PLANTS[p]]
    return Case(f"folder-{command}-{'+'.join(plants)}", files, special, command, target,
                then_run=False, args=args, prepare=prepare)  # fmt: skip


hostile_cases = st.one_of(hostile_names(), linked_results())
"""The classes of issue 26: names to spreadsheets and terminals, links in results folders."""
all_cases = st.one_of(*all_cases.original_strategies, hostile_names(), linked_results())  # type: ignore[attr-defined]
"""Every kind of generated case, issue 26's included."""
