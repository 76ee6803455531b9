"""The HTML report: built for every bundled scenario, comparisons and sweeps; self-contained;
escaped; and rendered by a real headless Chromium with the network blocked.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import sim_ok

from sim.cli import cli
from sim.experiments.replication import replicate
from sim.report.files import write_folder
from sim.report.html import ReportError, build_report, comparison_pairs
from sim.report.plots import average_day
from sim.scenario.loading import scenario_from_dict
from sim.scenario.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))


class _Refs(HTMLParser):
    """Everything in a page that could make a browser fetch something."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in (
            "script",
            "link",
            "iframe",
            "object",
            "embed",
            "base",
            "frame",
            "audio",
            "video",
            "source",
        ):
            self.problems.append(f"<{tag}>")
        self._in_style = tag == "style"
        for name, value in attrs:
            v = (value or "").strip().lower()
            if (
                name.startswith("on")
                or re.match(r"^(https?:|//|file:|ftp:)", v)
                or (
                    name in ("src", "href", "srcset", "action", "poster", "data")
                    and not v.startswith(("data:", "#"))
                )
            ):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style and re.search(r"url\(|@import", data):
            self.problems.append("style with url() or @import")
        self.text.append(data)


def fetches(html: str) -> list[str]:
    """What in ``html`` would make a request (text content may mention anything)."""
    parser = _Refs()
    parser.feed(html)
    return parser.problems


def short(path: Path, days: int = 2) -> object:
    """A bundled scenario, shortened so that a report test takes about a second."""
    data, _ = load_yaml(path)
    data["horizon"] = {**data.get("horizon", {}), "days": days, "warmup": 0}
    return scenario_from_dict(data, base_dir=path.parent, source=str(path))


def run_folder(scenario, out: Path, reps: int = 2) -> Path:
    write_folder(out, replicate(scenario, replications=reps, workers=1).files())
    return out


def tiny(**extra) -> object:
    return scenario_from_dict(
        {
            "name": "tiny",
            "horizon": {"days": 1, "warmup": "2h"},
            "interval": "1h",
            "arrivals": {"rate_per_hour": 60},
            "call_types": {
                "general": {"share": 1, "handle_time": {"dist": "exponential", "mean": "3min"}}
            },
            "customer_tiers": {
                "standard": {"share": 1, "patience": {"dist": "exponential", "mean": "2min"}}
            },
            "agents": {"groups": {"team": {"skills": ["general"], "staffing": 4}}},
            "targets": {
                "service_level": {"within": "20s", "at_least": 0.8},
                "abandon_rate": {"at_most": 0.01},
            },
            "seed": 7,
            **extra,
        }
    )


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    folder = run_folder(tiny(), tmp_path_factory.mktemp("tiny"), reps=3)
    build_report(folder)
    return folder


# --- run reports ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_report_builds_for_every_bundled_scenario(path, tmp_path):
    scenario = short(path)
    report = build_report(run_folder(scenario, tmp_path))
    html = report.read_text(encoding="utf-8")
    assert f"<title>{scenario.name}: run report</title>" in html
    assert 'id="kpi-table"' in html and ">service_level<" in html
    assert fetches(html) == []
    source = path.read_text(encoding="utf-8")
    for scheme in ("http://", "https://"):
        assert html.count(scheme) == source.count(scheme)  # only inside the escaped YAML
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    for name in ("offered_vs_agents", "service_level", "abandonment_asa", "occupancy"):
        assert {f"{name}.png", f"{name}.svg"} <= figures
    assert html.count('src="data:image/png;base64,') == len(figures) // 2


def test_run_report_content(tiny_folder):
    html = (tiny_folder / "report.html").read_text(encoding="utf-8")
    summary = json.loads((tiny_folder / "summary.json").read_text())
    rows = re.findall(r'<tr class="(\w+)"><td class="name"[^>]*>(\w+)</td>', html)
    verdicts = {name: status for status, name in rows}
    for kpi in ("service_level", "abandon_rate"):
        met = summary["kpis"][kpi]["met"]
        assert verdicts[kpi] == ("met" if met else "missed")
    assert "≥ 80.0%" in html and "≤ 1.0%" in html
    assert "seed 7" in html and "name: tiny" in html  # the resolved scenario at the end
    assert html.index('id="kpi-table"') < html.index('id="scenario"')
    assert 'id="business"' not in html  # no business files: the section is left out cleanly


def test_each_verdict_is_shown_as_what_it_means(tmp_path):
    """A met target, a missed one, one the CI straddles and one with no data: each row carries
    its verdict as class and text, and the three verdicts are styled apart."""
    kpis = {
        "service_level": {"mean": 0.81, "ci95": [0.78, 0.84], "target": 0.8, "met": True},
        "abandon_rate": {"mean": 0.03, "ci95": [0.02, 0.04], "target": 0.01, "met": False},
        "asa": {"mean": 12.0, "ci95": [10.0, 14.0], "target": 30.0, "met": True},
        "delivery_on_time": {"mean": None, "ci95": None, "target": 0.9, "met": None},
    }
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "s", "kpis": kpis}))
    (tmp_path / "scenario.yaml").write_text(
        "name: s\ntargets:\n  service_level: {at_least: 0.8}\n  abandon_rate: {at_most: 0.01}\n"
        "  asa: {at_most: 30}\n  delivery_on_time: {at_least: 0.9}\n"
    )
    html = build_report(tmp_path).read_text(encoding="utf-8")
    rows = re.findall(
        r'<tr class="(\w+)"><td class="name"[^>]*>(\w+)</td>.*?<td>([^<]*)</td>'
        r'<td class="verdict">([^<]*)</td>\s*<td class="note">([^<]*)</td>',
        html,
        re.S,
    )
    got = {name: (status, target, verdict, note) for status, name, target, verdict, note in rows}
    assert got == {
        "service_level": ("met", "≥ 80.0%", "met", "CI spans target"),
        "abandon_rate": ("missed", "≤ 1.0%", "missed", ""),
        "asa": ("met", "≤ 30.00 s", "met", ""),
        "delivery_on_time": ("nodata", "≥ 90.0%", "no data", ""),
    }
    assert 'title="calls abandoned / calls offered">abandon_rate<' in html  # what it measures
    style = {
        status: re.search(rf"tr\.{status} td\.verdict {{([^}}]*)}}", html).group(1)
        for status in ("met", "missed", "nodata")
    }
    assert len(set(style.values())) == 3  # met, missed and no data never look alike


def business_folder(tmp_path: Path) -> Path:
    """A run with two agent groups, plus the business-flow files issue 4 is to write."""
    two = tiny(
        agents={
            "groups": {
                "a": {"skills": ["general"], "staffing": 2},
                "b": {"skills": ["general"], "staffing": 2},
            }
        }
    )
    folder = run_folder(two, tmp_path)
    assert "occupancy.group=a_mean" in (folder / "intervals.csv").read_text()
    summary = json.loads((folder / "summary.json").read_text())
    for i, channel in enumerate(("own_staff", "courier_company")):
        for j, stage in enumerate(
            (
                "orders_created",
                "orders_attempted",
                "orders_delivered",
                "orders_failed",
                "orders_open",
            )
        ):
            v = 100.0 - 20 * j - 10 * i
            summary["kpis"][f"{stage}.channel={channel}"] = {"mean": v, "ci95": [v - 2, v + 2]}
        summary["kpis"][f"cost_per_delivery.channel={channel}"] = {
            "mean": 30.0 - 15 * i,
            "ci95": [28.0 - 15 * i, 32.0 - 15 * i],
        }
    (folder / "summary.json").write_text(json.dumps(summary))
    with open(folder / "daily.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "day",
                "weekday",
                "delivery_on_time_mean",
                "delivery_on_time_ci_low",
                "delivery_on_time_ci_high",
                "back_office_backlog_mean",
                "cash_collected.channel=own_staff_mean",
                "cash_collected.channel=courier_company_mean",
                "pos_collected_mean",
            ]
        )
        for d in range(1, 8):
            w.writerow([d, "mon", 0.9, 0.85, 0.95, 10 * d, 100, 50, 80])
    return folder


@pytest.mark.slow
def test_occupancy_per_group_and_business_flows(tmp_path):
    folder = business_folder(tmp_path)
    html = build_report(folder).read_text(encoding="utf-8")
    figures = {p.stem for p in (folder / "figures").glob("*.png")}
    assert {
        "order_funnel",
        "delivery_on_time",
        "back_office_backlog",
        "cash_pos",
        "cost_per_delivery",
        "occupancy",
    } <= figures
    assert "figures/order_funnel.png" in html
    assert fetches(html) == []


def test_average_day_combines_days():
    table = {
        "day": np.array([2.0, 2, 3, 3]),
        "start": np.array(["00:00", "12:00"] * 2, dtype=object),
        "service_level_mean": np.array([0.8, 0.6, 0.9, np.nan]),
        "service_level_ci_low": np.array([0.7, 0.5, 0.86, np.nan]),
        "service_level_ci_high": np.array([0.9, 0.7, 0.94, np.nan]),
    }
    avg = average_day(table)
    assert list(avg["start"]) == ["00:00", "12:00"]
    np.testing.assert_allclose(avg["service_level_mean"], [0.85, 0.6])
    half = np.sqrt(0.1**2 + 0.04**2) / 2  # independent days: sqrt(sum h_d^2) / D
    np.testing.assert_allclose(
        avg["service_level_ci_high"] - avg["service_level_mean"], [half, 0.1]
    )


def test_long_run_is_drawn_as_an_average_day(tiny_folder, tmp_path):
    for name in ("summary.json", "scenario.yaml"):
        shutil.copy(tiny_folder / name, tmp_path / name)
    one = (tiny_folder / "intervals.csv").read_text().splitlines()
    rows = [line.split(",", 1)[1] for line in one[1:]]
    with open(tmp_path / "intervals.csv", "w") as fh:
        fh.write(one[0] + "\n")
        for day in range(1, 11):
            fh.writelines(f"{day},{row}\n" for row in rows)
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "Mean over the 10 simulated days by time of day" in html
    assert (tmp_path / "figures" / "service_level.png").is_file()


def test_script_in_name_and_description_shows_as_text(tmp_path):
    evil = "<script>alert('x')</script>"
    scenario = tiny(
        name=f"evil {evil}", description=f'desc {evil} <img src="https://leak.invalid/x.png"> & co'
    )
    html = build_report(run_folder(scenario, tmp_path)).read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html
    assert "&lt;img src=" in html and "&amp; co" in html
    assert fetches(html) == []
    parser = _Refs()
    parser.feed(html)
    assert any(f"evil {evil}" in t for t in parser.text)  # shown as the text it is


# --- comparison and sweep folders (shapes documented in sim/report.py; issue 5 writes them) ---


def comparison_folder(tmp_path: Path) -> Path:
    diff = {
        "service_level": {"mean": 0.05, "ci95": [0.03, 0.07], "significant": True},
        "asa": {"mean": -4.0, "ci95": [-9.0, 1.0], "significant": False},
        "abandon_rate": {"mean": -0.01, "ci95": [-0.015, -0.005], "significant": True},
    }
    data = {
        "scenarios": ["base", "more-agents", "ivr"],
        "seed": 3,
        "replications": 10,
        "pairs": [
            {"baseline": "base", "alternative": "more-agents", "differences": diff},
            {
                "baseline": "base",
                "alternative": "ivr",
                "kpis": {k: {**v, "mean": v["mean"] / 2} for k, v in diff.items()},
            },
        ],
    }
    (tmp_path / "comparison.json").write_text(json.dumps(data))
    for name, sl in (("base", 0.78), ("more-agents", 0.83), ("ivr", 0.805)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(
            json.dumps(
                {
                    "scenario": name,
                    "seed": 3,
                    "replications": 10,
                    "kpis": {
                        "service_level": {
                            "mean": sl,
                            "ci95": [sl - 0.01, sl + 0.01],
                            "target": 0.8,
                            "met": sl >= 0.8,
                        }
                    },
                }
            )
        )
    return tmp_path


def test_comparison_report(tmp_path):
    folder = comparison_folder(tmp_path)
    html = build_report(folder).read_text(encoding="utf-8")
    assert (folder / "figures" / "compare_differences.png").is_file()
    assert 'id="comparison-table"' in html
    assert "more-agents − base" in html and "+5.00 pp" in html and "-4.00 s" in html
    assert "<title>base vs more-agents vs ivr: comparison report</title>" in html
    verdicts = re.findall(
        r'<td class="name">more-agents − base</td><td class="name">(\w+)</td>\s*'
        r"<td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>",
        html,
    )  # fewer abandons is better, a higher service level too; asa's change is not significant
    assert sorted(verdicts) == [
        ("abandon_rate", "yes, better"),
        ("asa", "no"),
        ("service_level", "yes, better"),
    ]
    side = html[
        html.index('id="scenarios-table"') : html.index(
            "</table>", html.index('id="scenarios-table"')
        )
    ]
    assert re.findall(r'<td class="(\w*)">([\d.]+%)</td>', side) == [
        ("missed", "78.0%"),
        ("met", "83.0%"),
        ("met", "80.5%"),
    ]
    assert fetches(html) == [] and "http://" not in html and "https://" not in html


def test_comparison_pairs_accepts_a_mapping():
    pairs = comparison_pairs({"differences": {"B - A": {"asa": {"mean": 1.0}}}})
    assert pairs == [("B - A", {"asa": {"mean": 1.0}})]


def sweep_folder(tmp_path: Path, grid: bool = True) -> Path:
    rng = np.random.default_rng(0)
    if grid:
        agents, cap = np.meshgrid([10, 12, 14, 16], [200, 300, 400])
        agents, cap = agents.ravel(), cap.ravel()
    else:
        agents, cap = rng.uniform(10, 16, 12), rng.uniform(200, 400, 12)
    sl = 1 - np.exp(-(agents - 8) / 3) - (400 - cap) / 4000
    with open(tmp_path / "points.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "point",
                "agents.groups.general.staffing",
                "delivery.channels.courier_company.daily_capacity",
                "replications",
                "service_level_mean",
                "service_level_ci_low",
                "service_level_ci_high",
                "asa_mean",
                "asa_ci_low",
                "asa_ci_high",
            ]
        )
        for i, (a, c, s) in enumerate(zip(agents, cap, sl, strict=True)):
            w.writerow(
                [i, a, c, 5, s, s - 0.02, s + 0.02, 60 / (a - 8), 50 / (a - 8), 70 / (a - 8)]
            )
    (tmp_path / "scenario.yaml").write_text(
        "name: sweep-base\ntargets:\n  service_level: {within: 20.0, at_least: 0.8}\n"
    )
    (tmp_path / "experiment.yaml").write_text("base: ../scenarios/x.yaml\n")
    return tmp_path


@pytest.mark.parametrize("grid", [True, False], ids=["grid", "latin-hypercube"])
def test_sweep_report(tmp_path, grid):
    folder = sweep_folder(tmp_path, grid)
    html = build_report(folder).read_text(encoding="utf-8")
    names = {p.stem for p in (folder / "figures").glob("*.png")}
    assert "sweep_agents_groups_general_staffing" in names
    assert "sweep_delivery_channels_courier_company_daily_capacity" in names
    heat = "heat_service_level_agents_groups_general_staffing_delivery_channels_courier_company"
    assert any(n.startswith(heat) for n in names)
    assert "<title>sweep-base: sweep report</title>" in html
    assert 'id="points-table"' in html and "base: ../scenarios/x.yaml" in html
    assert fetches(html) == [] and "http://" not in html and "https://" not in html


def test_not_a_results_folder(tmp_path):
    with pytest.raises(ReportError, match=r"no summary\.json"):
        build_report(tmp_path)
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "is this a results folder?" in result.output


def test_cli_run_writes_report_unless_no_report(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: cli\nhorizon: {days: 1}\ninterval: 1h\n"
        "arrivals: {rate_per_hour: 30}\n"
        "call_types: {g: {share: 1, handle_time: {dist: fixed, value: 60s}}}\n"
        "customer_tiers: {s: {share: 1, patience: {dist: never}}}\n"
        "agents: {groups: {t: {skills: [g], staffing: 2}}}\n"
    )
    for flag, expected in (([], True), (["--no-report"], False)):
        out = tmp_path / f"out{len(flag)}"
        sim_ok(
            "run", scenario, "--replications", "2", "--workers", "1", "--quiet", "--out", out, *flag
        )
        assert (out / "report.html").is_file() is expected
        assert (out / "summary.json").is_file()
    (tmp_path / "out1" / "intervals.csv").unlink()  # report works on whatever the folder holds
    sim_ok("report", tmp_path / "out1")
    assert (tmp_path / "out1" / "report.html").is_file()


# --- a real browser ---------------------------------------------------------------------------

CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)


class RecordingProxy:
    """A proxy on 127.0.0.1 that forwards nothing: it records each request and hangs up."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(4096).split(b"\r\n")[0].decode("latin-1"))
                except OSError:
                    self.requests.append("?")

    def close(self):
        self.sock.close()


def _chromium_cmd(profile: Path, port: int) -> list[str]:
    """Headless chromium whose own traffic goes to the recording proxy, which forwards none."""
    assert CHROMIUM is not None
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--proxy-server=127.0.0.1:{port}",
        "--proxy-bypass-list=<-loopback>",
        "--window-size=1200,2000",
    ]


def chromium(args: list[str], profile: Path, port: int) -> subprocess.CompletedProcess:
    cmd = [*_chromium_cmd(profile, port), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def page_requests(url: str, profile: Path, port: int, timeout: float = 60) -> list[str]:
    """The URLs the page at ``url`` asks for, from the DevTools Network events of the page's
    own target (over ``--remote-debugging-pipe``): the browser's own background traffic, which
    a current Chromium sends whatever its flags say, is not the page's doing."""
    import os
    import queue
    import time

    to_browser, commands = os.pipe()
    events, from_browser = os.pipe()
    # the browser reads commands on fd 3 and writes events on fd 4
    trampoline = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    trampoline += "os.execvp(sys.argv[3], sys.argv[3:])"
    cmd = [*_chromium_cmd(profile, port), "--remote-debugging-pipe", "about:blank"]
    proc = subprocess.Popen(
        [sys.executable, "-c", trampoline, str(to_browser), str(from_browser), *cmd],
        pass_fds=(to_browser, from_browser),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser)
    os.close(from_browser)
    inbox: queue.Queue = queue.Queue()

    def read():
        buf = b""
        while chunk := os.read(events, 65536):
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                inbox.put(json.loads(m))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    seen: list[dict] = []

    def send(n: int, method: str, params: dict | None = None, session: str | None = None):
        message = {"id": n, "method": method, "params": params or {}}
        os.write(
            commands,
            json.dumps(message | ({"sessionId": session} if session else {})).encode() + b"\0",
        )
        while time.monotonic() < deadline:
            try:
                m = inbox.get(timeout=1)
            except queue.Empty:
                continue
            if m.get("id") == n:
                return m.get("result", {})
            seen.append(m)
        raise TimeoutError(method)

    def until(event: str, session: str, grace: float):
        end = None
        while time.monotonic() < (end or deadline):
            try:
                m = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(m)
            if m.get("method") == event and m.get("sessionId") == session and end is None:
                end = time.monotonic() + grace  # requests a script or a late image makes

    try:
        target = send(1, "Target.createTarget", {"url": "about:blank"})["targetId"]
        session = send(2, "Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        send(3, "Network.enable", session=session)
        send(4, "Page.enable", session=session)
        send(5, "Page.navigate", {"url": url}, session=session)
        until("Page.loadEventFired", session, grace=2.0)
        send(6, "Browser.close")
    finally:
        os.close(commands)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(events)
    return [
        m["params"]["request"]["url"]
        for m in seen
        if m.get("method") == "Network.requestWillBeSent" and m.get("sessionId") == session
    ]


def browse(url: str, tmp_path: Path) -> tuple[np.ndarray, str, RecordingProxy]:
    """Screenshot and DOM of ``url`` in headless chromium behind a recording proxy."""
    import matplotlib.image

    proxy = RecordingProxy()
    try:
        shot = tmp_path / "shot.png"
        chromium([f"--screenshot={shot}", url], tmp_path / "profile1", proxy.port)
        dom = chromium(["--dump-dom", url], tmp_path / "profile2", proxy.port).stdout
    finally:
        proxy.close()
    return matplotlib.image.imread(shot), dom, proxy


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_report_renders_in_headless_chromium_offline(tmp_path):
    scenario = tiny(description='offline check <img src="http://leak.invalid/beacon.png">')
    report = build_report(run_folder(scenario, tmp_path / "run"))
    url = report.resolve().as_uri()
    pixels, dom, _ = browse(url, tmp_path)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert float(np.var(pixels[..., :3])) > 0
    assert np.mean(pixels[..., :3].min(axis=2) < 0.9) > 0.01  # more than a blank page
    assert "<title>tiny: run report</title>" in dom
    assert 'id="kpi-table"' in dom and "service_level" in dom
    assert dom.count("<img") >= 4 and "leak.invalid" in dom  # figures; the beacon is text only
    # the page asks for nothing beyond itself and its inline figures (file:, data:); the
    # browser's own calls home (a current Chromium makes them whatever its flags) are not judged
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://leak.invalid/beacon.png"><p>x</p>', encoding="utf-8")
    proxy = RecordingProxy()
    try:
        requests = page_requests(url, tmp_path / "profile3", proxy.port)
        assert requests and requests[0] == url
        assert [r for r in requests if not r.startswith(("file:", "data:"))] == [], requests
        # the instrument sees a page that does reach out
        requests = page_requests(leaky.as_uri(), tmp_path / "profile4", proxy.port)
    finally:
        proxy.close()
    assert "http://leak.invalid/beacon.png" in requests, requests


def _covers(span: str, clock: str) -> bool:
    """Whether the times of day ``"22:00–08:00"`` (wrapping past midnight) hold ``clock``."""
    start, end = span.split("–")
    return start <= clock < end if start < end else clock >= start or clock < end


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_baseline_report_opens_with_attainment_and_lists_the_nights(tmp_path):
    scenario = scenario_from_dict(
        load_yaml(ROOT / "scenarios/hotline_baseline.yaml")[0], base_dir=ROOT / "scenarios"
    )
    report = build_report(run_folder(scenario, tmp_path / "run", reps=2))
    url = report.resolve().as_uri()
    pixels, dom, _proxy = browse(url, tmp_path)
    assert float(np.var(pixels[:1000, :, :3])) > 0  # the top of the page is not blank
    sections = re.findall(r'<section id="([\w-]+)"', dom)
    assert sections[0] == "attainment" and "kpis" in sections[1:], sections
    head = dom[dom.index('id="attainment"') : dom.index('id="kpis"')]
    assert "Targets interval by interval" in head
    assert re.search(
        r"service_level ≥ 85.0%</strong>: [\d.]+% over\s+the run, met overall, "
        r"missed in \d+ of 336 intervals",
        head,
    ), head[:2000]
    table = head[
        head.index('id="misses-table"') : head.index("</table>", head.index("misses-table"))
    ]
    # clear misses only (2 replications: wide intervals): the late evening, most days
    spans = re.findall(
        r"service_level ≥ 85.0%</td>\s*<td[^>]*>([\d:]+–[\d:]+)</td>\s*<td>[4-7] of 7", table
    )
    assert any(_covers(s, "23:00") for s in spans), table
    assert 'id="fig-attainment_service_level"' in head


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_compare_report_shows_agent_hours_and_the_plans_interval_by_interval(tmp_path):
    from sim.scenario.resolved import scenario_to_dict

    files = []
    for name, agents in (("four", 4), ("five", 5)):
        data = {**scenario_to_dict(tiny()), "name": name}
        data["agents"]["groups"]["team"]["staffing"] = agents
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(data))  # JSON is YAML
        files.append(str(path))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        cli,
        ["compare", *files, "--replications", "2", "--workers", "1", "--quiet", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "five changes: agents.groups.team.staffing: 4 -> 5" in result.output
    plans = json.loads((out / "comparison.json").read_text())["plans"]
    # 4 and 5 agents all day: 96 and 120 agent-hours a day, whatever the calls did
    assert plans["four"]["agent_hours"]["mean"] == pytest.approx(96.0)
    assert plans["five"]["agent_hours"]["difference"] == pytest.approx(24.0)
    url = (out / "report.html").resolve().as_uri()
    pixels, dom, _proxy = browse(url, tmp_path)
    assert float(np.var(pixels[..., :3])) > 0
    plans_table = dom[
        dom.index('id="plans-table"') : dom.index("</table>", dom.index("plans-table"))
    ]
    assert "agent_hours" in plans_table and "120 h/day" in plans_table
    assert "(+24.00 h/day)" in plans_table
    assert 'id="fig-compare_overlay"' in dom and 'id="fig-compare_differences"' in dom
    assert "agents.groups.team.staffing" in dom[dom.index('id="changes"') :]


def test_write_folder_picks_the_format_by_name_and_makes_subfolder_names_safe(tmp_path):
    out = write_folder(
        tmp_path / "o",
        {
            "summary.json": {"mean": float("nan"), "n": np.int64(3)},
            "t.csv": {"a": [1.5, None], "b": np.array(["x", "y"])},
            "scenario.yaml": "name: x\n",
            "run 1/v2.0/": {"summary.json": {"scenario": "s"}},
        },
    )
    assert json.loads((out / "summary.json").read_text()) == {"mean": None, "n": 3}
    assert (out / "t.csv").read_text() == "a,b\n1.5,x\n,y\n"
    assert (out / "scenario.yaml").read_text() == "name: x\n"
    assert json.loads((out / "run_1_v2.0" / "summary.json").read_text()) == {"scenario": "s"}
    with pytest.raises(TypeError, match=r"x\.bin"):
        write_folder(tmp_path / "p", {"x.bin": 3})


def test_report_and_kpi_modules_import_neither_the_model_nor_the_experiments():
    """The report reads files and the KPIs read records: neither needs SimPy to be imported."""
    code = (
        "import sys, sim.report.html, sim.report.files, sim.kpi.business, sim.kpi.calls\n"
        "bad = [m for m in sys.modules if m == 'simpy' or m.startswith('sim.experiments')\n"
        "       or (m.startswith('sim.model.') and m != 'sim.model.calendar')]\n"
        "print(bad)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_sweep_parameters_are_named_as_people_say_them():
    from sim.report.sweep_figures import param_label

    params = ["agents.groups.team.staffing", "arrivals.rate_per_hour"]
    assert param_label(params[0], params) == "staffing"
    assert param_label(params[1], params) == "rate per hour"
    alike = ["agents.groups.a.staffing", "agents.groups.b.staffing"]
    assert [param_label(p, alike) for p in alike] == ["a staffing", "b staffing"]


def test_compare_overlay_leaves_out_abandonment_nobody_has(tmp_path):
    """The overlay of two plans draws an abandonment panel only when some plan abandons."""
    from sim.report.drawing import FigureSink
    from sim.report.plan_figures import overlay

    class Counting(FigureSink):
        def add(self, fig, name, title, caption):
            self.panels = [ax.get_ylabel().split("\n")[0] for ax in fig.axes]
            return super().add(fig, name, title, caption)

    def table(abandon: float) -> dict:
        return {
            "weekday": np.array(["mon", "mon"]),
            "start": np.array(["09:00", "09:30"]),
            "service_level_mean": np.array([0.9, 0.8]),
            "abandon_rate_mean": np.array([0.0, abandon]),
            "agents_on_duty_mean": np.array([10.0, 11.0]),
        }

    sink = Counting(tmp_path)
    overlay({"a": table(0.0), "b": table(0.0)}, sink, {})
    assert sink.panels == ["service level", "agents on duty"]
    overlay({"a": table(0.0), "b": table(0.02)}, sink, {})
    assert sink.panels == ["service level", "abandon rate", "agents on duty"]


def test_the_scenario_block_cuts_long_lists_and_keeps_the_rest(tmp_path):
    """Issue 26: an arrivals file's 850 rows made the run report 16,000 px long."""
    from ruamel.yaml import YAML

    from sim.report.html import shortened

    folder = run_folder(tiny(), tmp_path / "run")
    text = (folder / "scenario.yaml").read_text()
    rows = "".join(f"  - - {d}\n    - {t * 1800.0}\n    - 5.0\n" for d in (1, 2) for t in range(48))
    assert "  rows: []\n" in text  # no arrivals file: give it 96 rows
    text = text.replace("  rows: []\n", "  rows:\n" + rows, 1)
    (folder / "scenario.yaml").write_text(text)
    short = shortened(text)
    assert short.count("\n") < text.count("\n") - 90 * 3
    assert "  - - 1\n    - 7200.0\n    - 5.0\n  # … 91 more items, in the results" in short
    assert "14400.0" not in short and short.endswith("\n")
    assert shortened(short) == short  # short lists (the 3 items of a row) stay whole
    loaded = YAML(typ="safe", pure=True).load(short)
    assert len(loaded["arrivals"]["rows"]) == 5 and loaded["name"] == "tiny"
    page = build_report(folder).read_text()
    block = page[page.index('<section id="scenario">') :]
    assert "# … 91 more items" in block and "14400.0" not in block
    assert "within: 20.0" in block  # what follows the long list is shown
    assert "14400.0" in (folder / "scenario.yaml").read_text()  # the file stays whole
