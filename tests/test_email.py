"""E-mail (deferred work): a backlog worked between calls, never abandoned, its own KPIs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model_properties import scenarios as call_scenarios

from sim import scenario_from_dict, simulate
from sim.cli import cli
from sim.experiments.replication import mean_ci
from sim.kpi.deferred import EmailRecords, email_kpis
from sim.model.backlog import EmailBacklog
from sim.model.contact_center import ContactCenter
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.planning.erlang import erlang_c_metrics
from sim.quality.deferred import EMAIL_CASES, email_scenario, exact_waits
from sim.records.calls import CallLog, Outcome
from sim.records.emails import EmailLog
from sim.scenario.errors import ScenarioError
from sim.scenario.resolved import scenario_to_dict
from sim.scenario.units import DAY


def _mixed(**over):
    """One team answering voice calls and e-mails of one type each."""
    data = {
        "name": "mail",
        "horizon": {"days": 2, "warmup": "2h"},
        "arrivals": {"rate_per_hour": 60},
        "call_types": {
            "voice": {"share": 0.6, "handle_time": {"dist": "exponential", "mean": 180}},
            "mail": {
                "share": 0.4,
                "channel": "email",
                "handle_time": {"dist": "exponential", "mean": 300},
            },
        },
        "customer_tiers": {"std": {"share": 1, "patience": {"dist": "exponential", "mean": 60}}},
        "agents": {"groups": {"team": {"skills": ["voice", "mail"], "staffing": 4}}},
    }
    data.update(over)
    return scenario_from_dict(data)


# --- the work source on a router of hand-made calls ----------------------------------------------


def _center():
    """Two agents, one call type ``x`` (voice) and one ``m`` (e-mail), connected, not started."""
    sc = scenario_from_dict(
        {
            "name": "seam",
            "horizon": {"days": 1},
            "arrivals": {"rate_per_hour": 30},
            "call_types": {
                "x": {"share": 0.5, "handle_time": {"dist": "fixed", "value": 300}},
                "m": {
                    "share": 0.5,
                    "channel": "email",
                    "handle_time": {"dist": "fixed", "value": 1},
                },
            },
            "customer_tiers": {"std": {"share": 1}},
            "agents": {"groups": {"team": {"skills": ["x", "m"], "staffing": 2}}},
        }
    )
    env, calls = ModelEnvironment(), CallLog()
    center = ContactCenter(env, sc, Streams(1), calls)
    backlog = EmailBacklog(env, sc, calls, center.pool, center.route_groups)
    center.connect(None, [])
    return env, calls, center, backlog, backlog.door(center.offer)


def test_an_email_waits_until_no_call_waits_and_is_finished_before_the_next_call():
    env, calls, center, backlog, door = _center()
    center.start()
    contacts = [  # (time, type, handle): two calls take both agents, an e-mail and a call wait
        (0.0, 0, 300.0),
        (0.0, 0, 300.0),
        (10.0, 1, 600.0),
        (20.0, 0, 300.0),
        (650.0, 0, 300.0),  # arrives while one agent works the e-mail, the other is free
        (660.0, 0, 300.0),  # waits: nobody is free, the e-mail is not cut short
    ]
    for t, ctype, work in contacts:
        patience = 30.0 if ctype else 1e9  # callers wait; the e-mail's patience is ignored
        cid = calls.add(arrival=t, queue_entry=t, call_type=ctype, handle=work, patience=patience)
        env.later(t, door, cid)
    env.run(5000.0)
    c = calls.freeze()
    center.derive_ends(c)
    # at 300 both agents free up: the waiting call (arrived later) goes first, then the e-mail,
    # although the e-mail's patience (30 s) ran out long before: e-mails never hang up
    assert c.outcome.tolist() == [Outcome.ANSWERED] * 6
    assert c.answer.tolist() == [0.0, 0.0, 300.0, 300.0, 650.0, 900.0]
    assert c.agent[2] != c.agent[3] and c.agent[5] == c.agent[2]  # after the e-mail's end
    e = backlog.log.freeze()
    assert (e.call.tolist(), e.entry.tolist(), e.start.tolist()) == ([2], [10.0], [300.0])
    assert e.end.tolist() == [900.0] and c.release[2] == 900.0
    assert center.pool.pending == [0] and sorted(center.pool.free[0]) == [0, 1]


def test_an_email_reaching_an_empty_agent_is_taken_at_once_and_waits_open_at_the_horizon():
    env, calls, center, _, door = _center()
    center.start()
    for t in (5.0, 6.0, 7.0):  # two agents: the third e-mail waits
        cid = calls.add(arrival=t, queue_entry=t, call_type=1, handle=1e6, patience=1.0)
        env.later(t, door, cid)
    env.run(1000.0)
    c = calls.freeze()
    center.derive_ends(c)
    assert c.outcome.tolist() == [Outcome.ANSWERED] * 2 + [Outcome.OPEN]
    assert c.answer[:2].tolist() == [5.0, 6.0] and center.pool.pending == [1]


# --- the model: properties over random scenarios -------------------------------------------------


@st.composite
def mixed_scenarios(draw):
    """The call model's random scenarios with one or more call types made e-mail."""
    data = scenario_to_dict(draw(call_scenarios()))
    names = list(data["call_types"])
    mail = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    for name in mail:
        data["call_types"][name]["channel"] = "email"
    return scenario_from_dict(data)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mixed_scenarios(), st.integers(0, 2**32 - 1))
def test_emails_end_in_one_state_never_share_an_agent_and_yield_to_waiting_calls(sc, seed):
    run = simulate(sc, seed=seed)
    c = run.records.calls
    kinds = [ct.channel for ct in sc.call_types.values()]
    mail = np.isin(c.call_type, [i for i, k in enumerate(kinds) if k == "email"])
    queued = mail & (c.outcome != Outcome.SELF_SERVED)
    # every e-mail that reached the backlog is answered or still open: never abandoned or cut
    states = set(np.unique(c.outcome[queued]).tolist())
    assert states <= {Outcome.ANSWERED, Outcome.OPEN}
    answered = c.outcome == Outcome.ANSWERED
    assert np.all(c.answer[queued & answered] >= c.queue_entry[queued & answered])
    # nothing lost: the backlog's records are the e-mails' call rows, one each, and agree
    # (an e-mail still in the IVR at the horizon never reached the backlog)
    horizon, warmup = sc.horizon_s, sc.warmup
    reached = queued & (c.queue_entry < horizon)
    assert np.all(c.outcome[queued & ~reached] == Outcome.OPEN)
    counted = reached & (c.arrival >= warmup) & (c.arrival < horizon)
    assert run.kpis["emails"] * (horizon - warmup) / DAY == pytest.approx(counted.sum())
    handled = counted & answered & (c.end <= horizon)
    expected = np.mean((c.end - c.arrival)[handled]) if handled.any() else None
    assert run.kpis["response_time"] == pytest.approx(expected)
    # the call KPIs count the calls only
    voice_counted = ~mail & (c.arrival >= warmup) & (c.arrival < horizon)
    assert run.kpis["calls"] * (horizon - warmup) / DAY == pytest.approx(voice_counted.sum())
    assert not any(
        f"service_level.type={t}" in run.kpis
        for t, k in zip(sc.call_types, kinds, strict=True)
        if k == "email"
    )
    # one contact per agent at a time, calls and e-mails alike
    for agent in np.unique(c.agent[answered]):
        mine = np.flatnonzero(answered & (c.agent == agent))
        order = mine[np.argsort(c.answer[mine], kind="stable")]
        assert np.all(c.answer[order[1:]] >= c.release[order[:-1]] - 1e-9)
    # priority: when an e-mail is taken by an agent of group g, no voice call that g may serve
    # at once (an immediate step of its route) is waiting
    groups = list(sc.agents.groups)
    types = list(sc.call_types)
    serves = {
        g: [
            c_
            for c_, t in enumerate(types)
            if any(s.group == name and s.after <= 0 for s in sc.route(t))
        ]
        for g, name in enumerate(groups)
    }
    voice = ~mail & ~np.isnan(c.queue_entry)
    stop = np.where(answered, c.answer, c.end)
    stop = np.where(np.isnan(stop), np.inf, stop)
    for i in np.flatnonzero(mail & answered):
        t, g = c.answer[i], c.group[i]
        waiting = voice & (c.queue_entry < t) & (stop > t) & np.isin(c.call_type, serves[g])
        assert not waiting.any(), (i, t, np.flatnonzero(waiting))


def test_records_and_kpis_are_the_same_with_or_without_kept_records_and_seeds_repeat():
    sc = _mixed()
    a, b = simulate(sc, seed=3), simulate(sc, seed=3, keep_records=False)
    assert a.kpis == b.kpis
    assert a.kpis["emails"] > 0 and a.kpis["response_time"] > 0
    assert simulate(sc, seed=3).kpis == a.kpis


def test_adding_the_email_channel_moves_no_random_stream():
    """The contacts drawn are the same bits: only how the e-mail type is worked changes."""
    voice = _mixed(
        call_types={
            "voice": {"share": 0.6, "handle_time": {"dist": "exponential", "mean": 180}},
            "mail": {"share": 0.4, "handle_time": {"dist": "exponential", "mean": 300}},
        }
    )
    a, b = simulate(voice, seed=5).records.calls, simulate(_mixed(), seed=5).records.calls
    first = min(len(a), len(b))  # redials aside (none here), the same first calls
    for name in ("arrival", "call_type", "tier", "patience", "handle"):
        np.testing.assert_array_equal(a.columns[name][:first], b.columns[name][:first])
    assert len(a) == len(b)


# --- KPIs on hand-made records ---------------------------------------------------------------


def test_email_kpis_on_hand_made_records():
    log = EmailLog()
    h = 3 * DAY
    rows = [  # (type, arrival, entry, start, end)
        (0, 100.0, 100.0, 200.0, 500.0),  # warm-up: not counted, but in the backlog at day ends
        (0, DAY - 10, DAY - 10, DAY + 50, DAY + 60),  # open at the end of day 1
        (1, DAY + 10, DAY + 10, DAY + 10, DAY + 3610),  # taken at once
        (0, 2 * DAY + 5, 2 * DAY + 5, np.nan, np.nan),  # open at day 2's end and the horizon
        (0, 2.5 * DAY, 2.5 * DAY, 2.5 * DAY + 100, 2.5 * DAY + 200),
    ]
    for ctype, arrival, entry, start, end in rows:
        log.add(call=0, call_type=ctype, arrival=arrival, entry=entry, start=start, end=end)
    rec = EmailRecords(log.freeze(), ["a", "b"], [0, 1], warmup=3600.0, horizon=h, within=DAY / 2)
    k = email_kpis(rec)
    assert k["emails"] == pytest.approx(4 / ((h - 3600) / DAY))
    assert k["response_time"] == pytest.approx((70 + 3600 + 200) / 3)
    # due (arrived half a day before the horizon or earlier): the four counted; the open one
    # has missed it
    assert k["response_within"] == pytest.approx(3 / 4)
    k = email_kpis(replace(rec, within=DAY))  # due: the two of day 1, both within
    assert k["response_within"] == 1.0
    # day ends after the warm-up: 1 d (row 2 open), 2 d (none), 3 d = the horizon (row 4 open)
    assert k["backlog"] == pytest.approx((1 + 0 + 1) / 3)
    assert k["asa.type=a"] == pytest.approx((60 + 100) / 2)  # taken ones; the open one waits:
    assert k["mean_wait.type=a"] == pytest.approx((60 + (h - 2 * DAY - 5) + 100) / 3)
    assert k["asa.type=b"] == 0.0 and k["response_time.type=b"] == 3600.0


# --- the scenario keys ---------------------------------------------------------------------------


def test_channel_defaults_to_voice_and_is_checked():
    sc = _mixed()
    assert [ct.channel for ct in sc.call_types.values()] == ["voice", "email"]
    with pytest.raises(ScenarioError, match="channel"):
        _mixed(
            call_types={
                "voice": {
                    "share": 1,
                    "channel": "fax",
                    "handle_time": {"dist": "fixed", "value": 1},
                }
            }
        )


def test_an_email_type_creates_no_business():
    with pytest.raises(ScenarioError, match="creates no business"):
        _mixed(
            call_types={
                "voice": {"share": 0.5, "handle_time": {"dist": "fixed", "value": 60}},
                "mail": {
                    "share": 0.5,
                    "channel": "email",
                    "creates": "lead",
                    "handle_time": {"dist": "fixed", "value": 60},
                },
            }
        )


def test_response_within_target_takes_a_within_and_sets_the_kpi():
    sc = _mixed(targets={"response_within": {"within": "1h", "at_least": 0.9}})
    assert sc.targets["response_within"].within == 3600.0
    long = _mixed(targets={"response_within": {"within": "24h", "at_least": 0.9}})
    assert (
        simulate(sc, seed=2).kpis["response_within"]
        <= simulate(long, seed=2).kpis["response_within"]
    )
    with pytest.raises(ScenarioError, match="within goes with"):
        _mixed(targets={"answer_rate": {"within": "1h", "at_least": 0.9}})


def test_a_scenario_without_emails_reports_nothing_about_them():
    voice = _mixed(
        call_types={"voice": {"share": 1, "handle_time": {"dist": "exponential", "mean": 180}}},
        agents={"groups": {"team": {"skills": ["voice"], "staffing": 4}}},
    )
    kpis = simulate(voice, seed=1).kpis
    assert not {"emails", "response_time", "response_within", "backlog"} & set(kpis)


# --- against theory: Cobham's non-preemptive priority M/M/c ---------------------------------------


@pytest.mark.parametrize("aht, agents, load, share", EMAIL_CASES)
def test_cobham_formula_agrees_with_the_conservation_law_and_the_m_m_1_result(
    aht, agents, load, share
):
    """The closed form checked before use: the load-weighted mean wait over the classes is the
    FCFS (Erlang C) mean wait (Kleinrock's conservation law: one exponential service time, a
    work-conserving order), and with one agent it is the M/M/1 priority queue's W_k =
    (rho / mu) / ((1 - s_{k-1})(1 - s_k)) (Kleinrock 1976, vol. II, eq. 3.30)."""
    rate = load * agents / aht
    calls, emails = exact_waits(aht, agents, load, share)
    fcfs = erlang_c_metrics(rate, aht, agents, within=0.0).mean_wait
    assert (1 - share) * calls + share * emails == pytest.approx(fcfs, rel=1e-12)
    assert calls < fcfs < emails
    if agents == 1:
        s1 = rate * (1 - share) * aht
        assert calls == pytest.approx(load * aht / (1 - s1), rel=1e-12)
        assert emails == pytest.approx(load * aht / ((1 - s1) * (1 - load)), rel=1e-12)


def test_calls_and_emails_wait_as_cobhams_priority_queue():
    """5 agents at 85 %, 30 % e-mails, one exponential handle time, nobody hangs up: the mean
    waits of calls and e-mails and the occupancy against the exact figures, each inside the
    99 % t-interval of 6 replications of 10 days (fixed seeds: deterministic)."""
    aht, agents, load, share = EMAIL_CASES[1]
    scenario = email_scenario(aht, agents, load, share, days=10, warmup_s=6 * 3600)
    runs = [simulate(scenario, replication=r, keep_records=False) for r in range(6)]
    calls, emails = exact_waits(aht, agents, load, share)
    for name, exact in (("asa", calls), ("asa.type=mail", emails), ("occupancy", load)):
        _, (lo, hi), _ = mean_ci([run.kpis[name] for run in runs], level=0.99)
        assert lo <= exact <= hi, (name, exact, lo, hi)


# --- end to end ----------------------------------------------------------------------------------

EMAIL_FILE = Path(__file__).parent / "scenarios" / "ok_email.yaml"
E_MAIL_KPIS = ("response_time", "response_within", "backlog")


def test_run_end_to_end_shows_the_email_kpis_and_their_targets(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(EMAIL_FILE),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "1",
            "--quiet",
            "--replications",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    for name in E_MAIL_KPIS:
        assert name in result.output
    assert "<= 3,600" in result.output and ">= 90.0" in result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {"emails", "asa.type=mail", *E_MAIL_KPIS} <= set(summary["kpis"])
    assert "service_level.type=mail" not in summary["kpis"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "response_within" in page


def test_a_voice_run_shows_nothing_about_emails(tmp_path):
    tiny = Path(__file__).parent / "scenarios" / "ok_tiny.yaml"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(tiny),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "1",
            "--quiet",
            "--all-kpis",
        ],
    )
    assert result.exit_code == 0, result.output
    assert not any(name in result.output for name in (*E_MAIL_KPIS, "emails"))


def test_the_json_schema_documents_the_channel():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    channel = json.loads(result.output)["$defs"]["CallType"]["properties"]["channel"]
    assert channel["enum"] == ["voice", "chat", "email"] and channel["default"] == "voice"


def test_the_dossier_case_has_three_rows_per_load(monkeypatch):
    from sim.quality import deferred
    from sim.quality.validation import Settings

    monkeypatch.setattr(deferred, "EMAIL_CASES", [EMAIL_CASES[1]])
    case = deferred.email_case(Settings(days=1, replications=3, workers=1, warmup_s=3600.0))
    assert [r.measure for r in case.rows] == [
        "wait of calls (asa)",
        "wait of e-mails (asa.type=mail)",
        "occupancy",
    ]
    calls, emails = exact_waits(*EMAIL_CASES[1])
    assert [r.exact for r in case.rows] == [calls, emails, 0.85]
    assert all(r.ci is not None for r in case.rows) and case.note
