"""Study files: the shipped ones validate; errors name the key path and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sra_search.search.tuning import space
from sra_search.search.studyfile.schema import StudyFileError, load_study_file, parse_study, resolve_storage_url

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "studies").rglob("*.toml"))  # presets/ and findings/ too

MINIMAL = """
name = "t"
model = "smollm2-135m"

[[tasks]]
name = "passkey"
params = { length = 256 }

[search_space]
tau_in = { low = 0.1, high = 1.0 }
s_in = { low = 1.0, high = 6.0 }

[budget]
trials = 4
"""


def test_shipped_studies_exist_and_validate():
    names = {p.name for p in SHIPPED}
    assert {"smollm2-passkey.toml", "smollm2-longchat.toml"} <= names
    assert any("grid" in n for n in names) and any("llama3-8b" in n for n in names)
    for path in SHIPPED:
        spec = load_study_file(path)
        assert spec.name and spec.tasks


def test_shipped_study_task_params_are_valid_for_objectives():
    import objectives

    for path in SHIPPED:
        spec = load_study_file(path)
        for task in spec.tasks:
            objectives.get(task.name, **task.params)
        if spec.constraints.perplexity is not None:
            objectives.get(spec.constraints.perplexity.task, **spec.constraints.perplexity.params)


def test_minimal_defaults():
    spec = parse_study(MINIMAL)
    assert spec.sampler.kind == "tpe" and spec.objective.target == "delta"
    assert spec.constraints.attention is not None
    assert (spec.constraints.attention.low, spec.constraints.attention.high) == (1.1, 1.4)
    assert spec.workers.count == 2 and spec.workers.gpus == 0
    fixed = space.fixed_values(spec.search_space)
    assert fixed["c_s"] == 5 and fixed["c_e"] == 50 and "tau_in" not in fixed


@pytest.mark.parametrize(
    "old,new,path,line",
    [
        ("s_in = { low = 1.0, high = 6.0 }", "s_in = { low = 7.0, high = 6.0 }", "search_space.s_in", 11),
        ("s_in = { low = 1.0, high = 6.0 }", "s_in = { low = -1.0, high = 6.0 }", "search_space.s_in", 11),
        ("tau_in = { low = 0.1, high = 1.0 }", "tau_in = { low = 0.0, high = 1.0, log = true }", "search_space.tau_in", 10),
        ("s_in = { low = 1.0, high = 6.0 }", "s_in = { low = 1.0, hgh = 6.0 }", "search_space.s_in.hgh", 11),
        ("trials = 4", "trials = 0", "budget.trials", 14),
        ('name = "passkey"', 'name = "passkey"\nweight = -1', "tasks[0].weight", 7),
    ],
)
def test_errors_name_key_path_and_line(old, new, path, line):
    with pytest.raises(StudyFileError) as err:
        parse_study(MINIMAL.replace(old, new), "x.toml")
    msg = str(err.value)
    assert f": {path}" in msg, msg
    assert f"x.toml:{line}:" in msg, msg


def test_more_errors():
    with pytest.raises(StudyFileError, match="not valid TOML"):
        parse_study("name = ")
    with pytest.raises(StudyFileError, match="grid"):
        parse_study(MINIMAL + '\n[sampler]\nkind = "grid"\n')
    with pytest.raises(StudyFileError, match="inter"):
        parse_study(MINIMAL.replace("[budget]", 'inter = { low = 0, high = 1 }\n[budget]').replace("[search_space]\n", "[search_space]\n"))
    with pytest.raises(StudyFileError, match="perplexity_objective"):
        parse_study(MINIMAL + "\n[objective]\nperplexity_objective = true\n")
    with pytest.raises(StudyFileError, match="c_e"):
        parse_study(MINIMAL.replace("[budget]", "").replace("trials = 4", "") + "c_e = { choices = [0, 8] }\n[budget]\ntrials = 2\n")


def test_grid_and_paper_params():
    spec = parse_study(
        MINIMAL.replace("tau_in = { low = 0.1, high = 1.0 }", "tau_in = { choices = [0.1, 0.5, 1.0] }")
        .replace("s_in = { low = 1.0, high = 6.0 }", "s_in = { fixed = 2.0 }")
        + '\n[sampler]\nkind = "grid"\n'
    )
    assert space.grid(spec.search_space) == {"tau_in": [0.1, 0.5, 1.0]}
    assert space.grid_size(spec.search_space) == 3
    assert space.to_config(spec.search_space, {"tau_in": 0.1}).s_in == 2.0
    # The paper's value is enqueued only where the space contains it.
    spec2 = parse_study(MINIMAL)
    assert space.paper_public_params(spec2.search_space) == {"tau_in": 0.5, "s_in": 5.0}
    spec3 = parse_study(MINIMAL.replace("s_in = { low = 1.0, high = 6.0 }", "s_in = { low = 1.0, high = 3.0 }"))
    assert space.paper_public_params(spec3.search_space) == {"tau_in": 0.5}


def _switches(inter: str, outer: str):
    return parse_study(MINIMAL.replace("[budget]", f"inter = {inter}\nouter = {outer}\n[budget]"))


def test_loop_switches_never_sample_a_trial_that_edits_nothing():
    both = _switches("{ choices = [true, false] }", "{ choices = [true, false] }").search_space
    d = space.distributions(both)
    assert "inter" not in d and "outer" not in d and set(d[space.LOOPS].choices) == {"inter+outer", "inter", "outer"}
    got = {c: (space.to_config(both, {"tau_in": 0.5, "s_in": 2.0, space.LOOPS: c}).inter,
               space.to_config(both, {"tau_in": 0.5, "s_in": 2.0, space.LOOPS: c}).outer) for c in d[space.LOOPS].choices}
    assert got == {"inter+outer": (True, True), "inter": (True, False), "outer": (False, True)}
    assert space.paper_public_params(both)[space.LOOPS] == "inter+outer"
    # One switch searched while the other is on: a plain boolean parameter, both values edit.
    one = _switches("{ fixed = true }", "{ choices = [true, false] }").search_space
    assert list(space.distributions(one)) == ["tau_in", "s_in", "outer"]
    # ... while the other is off: only "on" edits anything, so the switch is fixed on.
    forced = _switches("{ fixed = false }", "{ choices = [false, true] }").search_space
    assert "outer" not in space.distributions(forced)
    cfg = space.to_config(forced, {"tau_in": 0.5, "s_in": 2.0})
    assert (cfg.inter, cfg.outer) == (False, True)
    with pytest.raises(StudyFileError, match="edit nothing"):
        _switches("{ fixed = false }", "{ choices = [false] }")


def test_storage_url_precedence(monkeypatch):
    monkeypatch.delenv("SRA_SEARCH_STORAGE", raising=False)
    assert resolve_storage_url(None) == "sqlite:///sra-search.db"
    monkeypatch.setenv("SRA_SEARCH_STORAGE", "sqlite:///x.db")
    assert resolve_storage_url(None) == "sqlite:///x.db"
    assert resolve_storage_url("sqlite:///y.db") == "sqlite:///y.db"
    monkeypatch.setenv("PGPASS_T", "secret")
    assert resolve_storage_url("postgresql://u:${PGPASS_T}@h/db") == "postgresql://u:secret@h/db"
    with pytest.raises(StudyFileError, match="not set"):
        resolve_storage_url("postgresql://u:${NOT_SET_VAR_X}@h/db")
