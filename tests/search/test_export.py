"""`export` on real studies stored in SQLite, re-scored for real on a tiny model saved to disk."""

import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from sra_search import SRAConfig
from sra_search.cli.app import app
from sra_search.presets import Registry
from sra_search.presets.attempts import read_attempts
from sra_search.search.decisions.export import ExportError, export, model_key

CFG = SRAConfig(tau_in=1.0, tau_ou=1.0, s_in=1.5, s_ou=1.2, c_s=2, c_e=8)
# Held-out cases per bucket spread over 2 lengths, over the study's whole range (no length choice
# from search cases; tested on its own below): quick on the tiny model.
FAST = dict(holdout_cases=6, n_lengths=2, range_cases=0)


def _study(tmp_path: Path, model_dir: str, name: str, length: int, task: str = "passkey", feasible: bool = True) -> Path:
    """A study file plus a stored study holding one COMPLETE trial with an SRA config."""
    db = f"sqlite:///{tmp_path}/studies.db"
    text = f"""
name = "{name}"
model = "{model_dir}"
[[tasks]]
name = "{task}"
params = {{ length = {length}, seed = 0 }}
cases = {{ search = 2, holdout = 3 }}
[search_space]
s_in = {{ low = 1.0, high = 2.0 }}
[constraints]
attention = {{ low = 0.5, high = 5.0 }}
[budget]
trials = 1
[storage]
url = "{db}"
"""
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    study = optuna.create_study(study_name=name, storage=db, direction="maximize", load_if_exists=True)
    trial = study.ask()
    trial.set_user_attr("sra", CFG.model_dump())
    trial.set_constraint("attention", -0.1 if feasible else 0.5)
    study.tell(trial, 0.25)
    return path


def test_no_gain_on_holdout_writes_nothing_and_says_why(tmp_path, tiny_model_dir):
    files = [_study(tmp_path, tiny_model_dir, "b-short", 120), _study(tmp_path, tiny_model_dir, "b-long", 200)]
    out = tmp_path / "presets"
    result = export(files, out, **FAST)
    assert not result.ok and result.path is None
    assert not any(out.rglob("v*.json"))
    # The attempt is recorded all the same: a later one will not look at these held-out cases again.
    (attempt,) = read_attempts(out / model_key(tiny_model_dir) / "passkey")
    assert attempt.attempt == result.attempt == 1 and attempt.version is None
    assert attempt.outcome.startswith("nothing published: 0-120: gain not shown")
    assert [(b.min_tokens, b.max_tokens) for b in result.buckets] == [(0, 120), (121, 200)]
    assert all("gain not shown on held-out cases" in b.reasons[0] for b in result.buckets)
    assert all("not shown" in b.verdict and "p = " in b.verdict for b in result.buckets)


def test_force_records_a_preset_marked_not_beating_baseline(tmp_path, tiny_model_dir):
    files = [_study(tmp_path, tiny_model_dir, "f-long", 200), _study(tmp_path, tiny_model_dir, "f-short", 120)]
    result = export(files, tmp_path / "presets", force=True, **FAST)
    p = result.preset
    assert result.path.is_file() and p.version == 1 and not p.beats_baseline and "--force" in p.notes
    assert p.schema_version == 3
    assert p.model.source == tiny_model_dir and p.model.name == model_key(tiny_model_dir)
    assert [b.config for b in p.buckets] == [CFG, CFG]
    b = p.buckets[0]
    # A bucket too narrow to spread over lengths gets all its cases at one (120: below MIN_PROMPT).
    # The answer mode is written out (schema 3), so the preset does not depend on today's defaults.
    assert b.evaluation.task_params == {"length": 120, "seed": 0, "prime": False, "scoring": "generate"}
    assert p.task.params == {"seed": 0, "prime": False, "scoring": "generate"} and b.evaluation.n_cases == 6
    assert b.evaluation.lengths == [120] and b.evaluation.alpha == 0.05
    assert b.metrics.n_cases == 6 and b.metrics.prompt_tokens.max <= 120
    long = p.buckets[1]
    assert long.evaluation.lengths == [128, 200] and long.evaluation.n_cases == 3  # 3 cases at each length
    assert long.metrics.n_cases == 6  # the bucket's range, not one length
    assert long.metrics.prompt_tokens.min <= 128 < long.metrics.prompt_tokens.max <= 200
    ev = long.metrics.evidence
    assert ev.n == 6 and ev.test.startswith("exact McNemar") and not ev.shown and ev.p_adjusted >= ev.p_value
    assert len(long.outcomes.keys) == 6 and long.outcomes.keys[0].startswith("passkey:")
    assert p.provenance.trials == [0, 0] and p.provenance.study == "f-short,f-long"
    assert "sqlite:///" in p.provenance.storage and p.provenance.packages["torch"]
    before = result.path.read_bytes()
    same = export(files, tmp_path / "presets", force=True, **FAST)  # the same measurement again
    assert same.unchanged and same.path == result.path and same.preset.version == 1
    assert sorted(q.name for q in result.path.parent.iterdir()) == ["attempts.json", "v1.json"]
    assert same.attempt == result.attempt == p.provenance.attempt == 1  # the same plan: the same attempt and cases
    changed = export(files, tmp_path / "presets", force=True, min_gain=0.1, **FAST)  # another evaluation recorded
    assert not changed.unchanged and changed.preset.version == 2
    # Another plan is another attempt, on held-out cases the first never looked at (6 per length).
    assert changed.attempt == changed.preset.provenance.attempt == 2
    assert [b.evaluation.offset for b in changed.preset.buckets] == [6, 6]
    assert not set(changed.preset.buckets[1].outcomes.keys) & set(long.outcomes.keys)
    assert result.path.read_bytes() == before  # never rewritten, only added to
    assert Registry(tmp_path / "presets").get(p.model.name, "passkey", include_unproven=True).version == 2


def test_held_out_lengths_start_where_the_task_prompts_fit(tmp_path, tiny_model_dir):
    # LongChat lines need ~190 tokens before any distractor line: 128 (MIN_PROMPT) cannot build.
    from objectives.lengths import shortest_length
    from sra_search.models import load_model

    f = _study(tmp_path, tiny_model_dir, "lines", 400, task="longchat_lines")
    result = export([f], tmp_path / "presets", force=True, **FAST)
    b = result.preset.buckets[0]
    _, tok = load_model(tiny_model_dir)
    start = shortest_length("longchat_lines", {"length": 400, "seed": 0}, tok, split="holdout", n_cases=3, at_least=128)
    assert 128 < start < 400 and b.evaluation.lengths == [start, 400]
    assert (b.min_tokens, b.max_tokens) == (0, 400) and b.metrics.n_cases == 6


def test_infeasible_only_and_mixed_inputs_are_refused(tmp_path, tiny_model_dir):
    bad = _study(tmp_path, tiny_model_dir, "infeasible", 150, feasible=False)
    result = export([bad], tmp_path / "p", force=True, **FAST)
    assert result.path is None and "no COMPLETE feasible trial" in result.buckets[0].reasons[0]
    other = _study(tmp_path, tiny_model_dir, "other-task", 300, task="kv_retrieval")
    with pytest.raises(ExportError, match="one task"):
        export([bad, other], tmp_path / "p", **FAST)


def test_cli_exit_codes_and_unwritable_target(tmp_path, tiny_model_dir):
    f = _study(tmp_path, tiny_model_dir, "cli", 120)
    runner = CliRunner()
    fast = ["--holdout-cases", "6", "--lengths", "2", "--range-cases", "0"]
    res = runner.invoke(app, ["export", str(f), "--to", str(tmp_path / "p"), "--json", *fast])
    assert res.exit_code == 1 and json.loads(res.stdout)["written"] is None
    first = runner.invoke(app, ["export", str(f), "--to", str(tmp_path / "p"), "--force", "--json", *fast])
    assert first.exit_code == 0 and json.loads(first.stdout)["version"] == 1
    again = runner.invoke(app, ["export", str(f), "--to", str(tmp_path / "p"), "--force", *fast])
    said = " ".join(again.output.split())  # rich wraps long lines
    assert again.exit_code == 0 and "unchanged" in said and "nothing written" in said
    out = json.loads(runner.invoke(app, ["export", str(f), "--to", str(tmp_path / "p"), "--force", "--json", *fast]).stdout)
    assert out["unchanged"] and out["written"] is None and out["path"].endswith("v1.json")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")  # the presets "directory" is a file: nothing can be written there
    res = runner.invoke(app, ["export", str(f), "--to", str(blocker), "--force", *fast])
    assert res.exit_code == 2 and "cannot create preset directory" in res.output
    assert "Traceback" not in res.output and blocker.read_text() == "x"


def test_eval_accepts_a_published_preset(tmp_path, tiny_model_dir):
    files = [_study(tmp_path, tiny_model_dir, "e-short", 120)]
    result = export(files, tmp_path / "presets", force=True, **FAST)
    res = CliRunner().invoke(app, ["eval", "--model", tiny_model_dir, "--task", "passkey", "--length", "110",
                                   "--cases", "2", "--preset", str(result.path), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["config"]["name"] == result.preset.name
    assert out["sra"]["sra_stats"]["examined_rows"] > 0  # the 0-120 bucket applied to 110-token prompts


def test_only_buckets_whose_gain_is_shown_are_published(tmp_path, tiny_model_dir, monkeypatch):
    """A bucket whose held-out gain is not shown is left out (no SRA at that length); the rest ship."""
    import importlib

    evaluate_mod = importlib.import_module("objectives.evaluate")  # the module; `objectives.evaluate` is the function
    real = evaluate_mod.evaluate

    def evaluate(model, tok, task, sra=None, **kw):
        res = real(model, tok, task, sra, **kw)
        # Make SRA answer every case of the long bucket (lengths 128-200), as a study there might find.
        if sra is not None and task == "passkey" and kw["task_params"]["length"] > 120:
            cases = [c.model_copy(update={"score": 1.0}) for c in res.cases]
            res = res.model_copy(update={"cases": cases, "score": 1.0})
        return res

    monkeypatch.setattr(evaluate_mod, "evaluate", evaluate)  # what the re-score path (objectives.compare) calls
    files = [_study(tmp_path, tiny_model_dir, "p-short", 120), _study(tmp_path, tiny_model_dir, "p-long", 200)]
    result = export(files, tmp_path / "presets", holdout_cases=8, n_lengths=2, range_cases=0)
    assert result.ok and not result.all_ok and result.path is not None
    p = result.preset
    assert p.beats_baseline and [(b.min_tokens, b.max_tokens) for b in p.buckets] == [(121, 200)]
    assert "no SRA for 0-120 tokens" in p.notes and "gain not shown" in p.notes and p.provenance.trials == [0]
    assert p.config_for(100) is None and p.config_for(150) == CFG
    ev = p.buckets[0].metrics.evidence
    # 8 cases SRA alone answered: one-sided exact sign test p = 0.5**8, Holm over the 2 buckets.
    assert ev.shown and ev.sra_only == 8 - ev.baseline_only and ev.p_value == pytest.approx(0.5 ** ev.sra_only)
    assert ev.p_adjusted <= 2 * ev.p_value and ev.ci_low > 0


def test_regress_rechecks_the_evidence_of_a_gated_preset(tmp_path, tiny_model_dir, monkeypatch):
    """A version-2 preset records its per-case outcomes: regress re-runs them, lists exactly the
    cases that flipped and fails once the paired test no longer shows the gain."""
    import importlib

    from sra_search.presets.regress import regress

    evaluate_mod = importlib.import_module("objectives.evaluate")
    real = evaluate_mod.evaluate

    def evaluate(model, tok, task, sra=None, **kw):
        res = real(model, tok, task, sra, **kw)
        if sra is not None and task == "passkey":
            res = res.model_copy(update={"cases": [c.model_copy(update={"score": 1.0}) for c in res.cases], "score": 1.0})
        return res

    monkeypatch.setattr(evaluate_mod, "evaluate", evaluate)
    files = [_study(tmp_path, tiny_model_dir, "r-long", 200)]
    preset = export(files, tmp_path / "presets", holdout_cases=8, n_lengths=2, range_cases=0).preset
    assert preset.beats_baseline and preset.buckets[0].metrics.evidence.shown

    (same,) = regress([preset])
    assert same.passed and same.flipped == [] and same.rerun_cases == 8, same.failures
    assert same.verdict.endswith("gain shown") and same.evidence["p_adjusted"] <= 0.05
    (subset,) = regress([preset], cases=2)  # CI: 2 recorded cases per length re-run, the rest as recorded
    assert subset.passed and subset.rerun_cases == 4 and subset.n_cases == 8

    monkeypatch.setattr(evaluate_mod, "evaluate", real)  # the gain is gone: SRA answers as the model does
    (gone,) = regress([preset])
    assert not gone.passed and len(gone.flipped) == 8 and all("SRA 1 -> 0" in f for f in gone.flipped)
    assert any("gain no longer shown" in f for f in gone.failures) and "not shown" in gone.verdict


def test_a_bucket_covers_only_the_lengths_where_search_cases_gain(tmp_path, tiny_model_dir, monkeypatch):
    """SRA made to answer every case only from 180 tokens up: the search-case scan over the study's
    range (128 and 200) finds no gain at 128; bisecting the edge measures 164 (no gain), then 182
    (gain), so the bucket starts at 182 and its held-out cases sit in 182-200; shorter prompts run
    without SRA. Without bisection (``refine=0``) the edge stays at the scanned 200. The scan and the
    bisection read search cases only."""
    import importlib

    evaluate_mod = importlib.import_module("objectives.evaluate")
    real = evaluate_mod.evaluate
    calls = []

    def evaluate(model, tok, task, sra=None, **kw):
        res = real(model, tok, task, sra, **kw)
        calls.append((kw["split"], kw["task_params"]["length"], sra is not None))
        if sra is not None and task == "passkey" and kw["task_params"]["length"] >= 180:
            res = res.model_copy(update={"cases": [c.model_copy(update={"score": 1.0}) for c in res.cases], "score": 1.0})
        return res

    monkeypatch.setattr(evaluate_mod, "evaluate", evaluate)
    files = [_study(tmp_path, tiny_model_dir, "g-long", 200)]
    result = export(files, tmp_path / "presets", holdout_cases=8, n_lengths=2, range_cases=4)
    (b,) = result.buckets
    assert b.ok and b.max_tokens == 200 and 170 < b.min_tokens <= 182, b.reasons
    assert b.lengths_chosen.startswith(
        "lengths 182-200; search-case gain by length: 128: +0.000 (n = 4), 164: +0.000 (n = 4), 182: +1.000 (n = 4), 200: +1.000"
    )
    p = result.preset
    assert p.config_for(150) is None and p.config_for(200) == CFG
    assert p.buckets[0].evaluation.lengths == [182, 200]
    search = {(n, s) for split, n, s in calls if split == "search"}
    assert search == {(n, s) for n in (128, 164, 182, 200) for s in (False, True)}
    assert {n for split, n, _ in calls if split == "holdout"} == {182, 200}

    calls.clear()
    coarse = export(files, tmp_path / "coarse", holdout_cases=8, n_lengths=2, range_cases=4, refine=0)
    assert coarse.buckets[0].lengths_chosen.startswith("lengths 200-200; search-case gain by length: 128: +0.000 (n = 4), 200: +1.000")
    assert {n for split, n, _ in calls if split == "search"} == {128, 200}


@pytest.mark.parametrize(
    "gains_from, steps, expected, measured",
    [
        # the gain starts between two scanned lengths: each step halves the gap around the edge
        (3400, 1, (3434, 4096), [3434]),
        (3400, 2, (3434, 4096), [3434, 3103]),
        (3400, 3, (3434, 4096), [3434, 3103, 3268]),
        # no bisection: the coarse scan's edge
        (3400, 0, (4096, 4096), []),
        # the gain starts below the run's first scanned length: the edge moves down
        (2000, 2, (2112, 4096), [2112, 1781]),
    ],
)
def test_refine_edges_bisects_where_the_gain_starts(gains_from, steps, expected, measured):
    from sra_search.search.decisions.bucket_range import LengthGains, choose_range, refine_edges

    def at(n):  # 8 search cases: all fixed from `gains_from` tokens up, all broken below
        asked.append(n)
        return LengthGains(n, (1.0 if n >= gains_from else -1.0,) * 8)

    asked: list[int] = []
    coarse = [at(n) for n in (128, 1451, 2773, 4096)]
    asked.clear()
    got = choose_range(refine_edges(coarse, at, steps))
    assert (got.low, got.high) == expected and asked == measured, got.describe()


def test_refine_edges_bisects_both_edges_and_stops_when_nothing_gains():
    from sra_search.search.decisions.bucket_range import LengthGains, choose_range, refine_edges

    asked: list[int] = []

    def at(n):  # the gain lives in 1000-3000 tokens only
        asked.append(n)
        return LengthGains(n, (1.0 if 1000 <= n <= 3000 else 0.0,) * 8)

    coarse = [at(n) for n in (128, 1451, 2773, 4096)]
    asked.clear()
    got = choose_range(refine_edges(coarse, at, 1))
    assert asked == [789, 3434] and (got.low, got.high) == (1451, 2773)
    asked.clear()
    got = choose_range(refine_edges(coarse, at, 2))
    assert (got.low, got.high) == (1120, 2773) and asked == [789, 3434, 1120, 3103]

    asked.clear()
    flat = [LengthGains(n, (0.0,) * 8) for n in (128, 1451)]
    assert refine_edges(flat, at, 3) == flat and asked == []


@pytest.mark.parametrize(
    "means, expected",
    [
        # the gain lives in a range: it is kept, and the tying short lengths fall outside
        ({128: 0.0, 427: 0.0, 725: 0.25, 1024: 0.125}, (725, 1024)),
        # SRA hurts short prompts and helps long ones: the hurting lengths fall outside
        ({128: -0.5, 427: -0.125, 725: 0.125, 1024: 0.25}, (725, 1024)),
        # a loss in the middle splits the lengths; the run with more total gain wins
        ({128: 0.25, 427: -0.25, 725: 0.125, 1024: 0.25}, (725, 1024)),
        ({128: 0.5, 427: 0.25, 725: -0.25, 1024: 0.125}, (128, 427)),
        # no gain anywhere, or only losses: no range
        ({128: 0.0, 427: 0.0, 725: 0.0}, None),
        ({128: -0.25, 427: -0.5}, None),
    ],
)
def test_choose_range_on_synthetic_outcomes(means, expected):
    from sra_search.search.decisions.bucket_range import LengthGains, choose_range

    # 8 cases per length whose mean gain is the given one (0/1 outcomes: gains in {-1, 0, 1}).
    points = []
    for n, m in reversed(list(means.items())):  # any order in, length order out
        k = round(abs(m) * 8)
        points.append(LengthGains(n, tuple([1.0 if m > 0 else -1.0] * k + [0.0] * (8 - k))))
    got = choose_range(points)
    assert ((got.low, got.high) if got.ok else None) == expected, got.describe()
    assert [p.length for p in got.points] == sorted(means)


def test_unseen_template_is_another_wording_of_the_task():
    from sra_search.search.decisions.transfer import unseen_template

    assert unseen_template("passkey", {"length": 512}) == "notes"
    assert unseen_template("passkey", {"template": "notes"}) == "landmark"
    assert unseen_template("niah", {}) == "secret" and unseen_template("kv_retrieval", {}) == "table"
    assert unseen_template("perplexity", {"data": "x.txt"}) is None  # one template: no transfer record


def test_the_gate_refuses_a_gain_that_only_fits_the_search_template(tmp_path, tiny_model_dir, monkeypatch):
    """SRA made to answer every case of the search's template and none of the unseen one, where the
    baseline answers all: the main held-out test shows a gain, the transfer record shows the loss,
    and the bucket is not published."""
    import importlib

    evaluate_mod = importlib.import_module("objectives.evaluate")
    real = evaluate_mod.evaluate

    def evaluate(model, tok, task, sra=None, **kw):
        res = real(model, tok, task, sra, **kw)
        notes = kw["task_params"].get("template") == "notes"
        if task == "passkey" and (sra is not None or notes):
            score = float((sra is None) == notes)  # notes: baseline right, SRA wrong; search's template: SRA right
            res = res.model_copy(update={"cases": [c.model_copy(update={"score": score}) for c in res.cases], "score": score})
        return res

    monkeypatch.setattr(evaluate_mod, "evaluate", evaluate)
    files = [_study(tmp_path, tiny_model_dir, "t-long", 200)]
    result = export(files, tmp_path / "presets", holdout_cases=8, n_lengths=2, range_cases=0, transfer_cases=4)
    (b,) = result.buckets
    tr = b.bucket.transfer
    assert tr.template == "notes" and tr.n_cases == 4 and tr.lengths == [128, 200] and not tr.holds
    assert (tr.score, tr.baseline_score, tr.baseline_only) == (0.0, 1.0, 4)
    assert set(tr.outcomes.keys).isdisjoint(b.bucket.outcomes.keys)
    assert b.bucket.metrics.evidence.shown  # the search's template alone would pass
    assert not b.ok and any("unseen template 'notes' SRA loses" in r for r in b.reasons)
    assert result.path is None  # nothing published
    forced = export(files, tmp_path / "presets", holdout_cases=8, n_lengths=2, range_cases=0, transfer_cases=4, force=True)
    assert forced.preset.buckets[0].transfer.template == "notes"  # recorded in the preset (schema 3)
