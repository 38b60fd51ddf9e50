"""Inputs that are well-formed but unusable: prompts shorter than the SRA geometry, empty data
sets, tokenizers without a chat template. Each gives a clear message, from the objectives API,
`sra-search eval` (exit 2, no traceback) and, for short prompts, the search driver."""

from __future__ import annotations

import copy
import logging

import pytest
from typer.testing import CliRunner

import objectives
from objectives import ObjectiveError
from sra_search import SRAConfig
from sra_search.cli.app import app

SHORT = SRAConfig(tau_in=0.5, tau_ou=0.5, s_in=3.0, s_ou=3.0, c_s=5, c_e=120)  # needs 5 + 120 + L + 3 tokens
runner = CliRunner()


@pytest.fixture(scope="module")
def plain_tok(tokenizer):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = None
    return tok


def test_prompt_shorter_than_geometry_is_reported_with_the_needed_length(tiny_lm, tokenizer):
    res = objectives.evaluate(tiny_lm, tokenizer, "passkey", SHORT, task_params={"length": 96}, n_cases=2)
    st = res.sra_stats
    assert st.edited_rows == 0 and st.inactive_sequences == 2
    (reason,) = st.inactive_reasons
    assert "middle region too short" in reason and "c_e=120" in reason
    assert f"needs at least {5 + 120 + tiny_lm.config.num_hidden_layers + 3} prompt tokens" in reason


def test_worker_passes_the_reason_on_to_the_driver(tiny_model_dir):
    import os
    import pickle

    from sra_search.search.execution.jobs import Job
    from sra_search.search.execution.worker import TrialWorker

    w = TrialWorker(tiny_model_dir, threads=1)
    out = w.evaluate(Job("main", 0, "passkey", {"length": 96}, "search", 0, 2, None, SHORT))
    assert out.pid == os.getpid() and out.outcomes.n_cases == 2
    assert out.outcomes.stats.edited_rows == 0
    assert "middle region too short" in out.outcomes.stats.inactive_reasons[0]
    assert pickle.loads(pickle.dumps(out)) == out  # plain data for Ray: no tensors


@pytest.mark.slow
def test_search_on_too_short_prompts_says_why_sra_did_nothing(tiny_model_dir, ray_local, tmp_path, caplog):
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import parse_study

    spec = parse_study(f"""
name = "too-short"
model = "{tiny_model_dir}"
[[tasks]]
name = "passkey"
params = {{ length = 96 }}
cases = {{ search = 2 }}
chunk = 2
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}
c_e = {{ fixed = 120 }}
[constraints]
attention = {{ low = 1.0, high = 100.0 }}
[pruner]
kind = "none"
[budget]
trials = 2
[workers]
count = 1
[storage]
url = "sqlite:///{tmp_path / 's.db'}"
heartbeat_s = 1
grace_s = 3
""")
    messages = []
    with caplog.at_level(logging.WARNING, logger="sra_search.search.driver"):
        summary = Driver(spec, RunOptions(holdout=False, on_progress=lambda p: messages.append(p.message))).run()
    assert summary.trials["complete"] == 2
    warned = [r.getMessage() for r in caplog.records if "SRA edited no row" in r.getMessage()]
    assert len(warned) == 1, caplog.text  # once per run, not once per trial
    assert "middle region too short" in warned[0] and "raise the task's length" in warned[0]
    assert any("SRA edited no row" in m for m in messages)  # the progress display shows it too
    import optuna

    study = optuna.load_study(study_name="too-short", storage=f"sqlite:///{tmp_path / 's.db'}")
    assert all("middle region too short" in t.user_attrs["sra_inactive"] for t in study.trials)


@pytest.mark.parametrize("task,params,content,suffix", [
    ("perplexity", {"length": 64, "last_k": 16}, "", ".txt"),
    ("perplexity", {"length": 64, "last_k": 16}, "", ".jsonl"),
    ("summarization", {"length": 128}, "", ".jsonl"),
    ("summarization", {"length": 128}, "[]", ".json"),
    ("longbench", {"subset": "qasper"}, "", ".jsonl"),
])  # fmt: skip
def test_empty_data_sets_are_clear_errors(tiny_lm, tokenizer, tmp_path, task, params, content, suffix):
    data = tmp_path / (f"qasper{suffix}" if task == "longbench" else f"empty{suffix}")
    data.write_text(content)
    with pytest.raises(ObjectiveError) as err:
        objectives.evaluate(tiny_lm, tokenizer, task, None, task_params={**params, "data": str(data)}, n_cases=1)
    msg = str(err.value)
    assert "data" in msg and ("no records" in msg or "no text" in msg or "empty" in msg or "has 0 cases" in msg), msg


def test_empty_data_set_through_eval_cli(tiny_lm, tokenizer, tmp_path, monkeypatch):
    import sra_search.models

    monkeypatch.setattr(sra_search.models, "load_model", lambda *a, **k: (tiny_lm, tokenizer))
    data = tmp_path / "empty.jsonl"
    data.write_text("")
    res = runner.invoke(app, ["eval", "--task", "summarization", "-p", f"data={data}", "--cases", "1"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "data" in res.output and "no records" in res.output


def test_tokenizer_without_chat_template(tiny_lm, plain_tok):
    # chat unset: plain prompts, and it works.
    res = objectives.evaluate(tiny_lm, plain_tok, "passkey", None, task_params={"length": 128}, n_cases=1)
    assert res.n_cases == 1
    # chat = true on such a tokenizer: a clear error naming the parameter and the fix.
    with pytest.raises(ObjectiveError, match=r"parameter 'chat'.*no chat template.*chat=false"):
        objectives.evaluate(tiny_lm, plain_tok, "passkey", None, task_params={"length": 128, "chat": True}, n_cases=1)


def test_tokenizer_without_chat_template_through_eval_cli(tiny_lm, plain_tok, monkeypatch):
    import sra_search.models

    monkeypatch.setattr(sra_search.models, "load_model", lambda *a, **k: (tiny_lm, plain_tok))
    res = runner.invoke(app, ["eval", "--task", "passkey", "--length", "128", "-p", "chat=true", "--cases", "1"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "chat" in res.output and "no chat template" in res.output
