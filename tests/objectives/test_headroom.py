"""The headroom map on a tiny model: cells, paired statistics, the baseline cache, the picture,
and its bad input (``sra-search map``)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import objectives
from objectives import ObjectiveError
from objectives.headroom import BaselineCache, check_grid, headroom_warning, measure_map, placement_name
from sra_search import SRAConfig
from sra_search.cli.app import app

CFG = SRAConfig(tau_in=0.4, tau_ou=0.4, s_in=2.0, s_ou=2.0, c_s=2, c_e=8)
runner = CliRunner()


def test_map_cells_pair_sra_with_a_cached_baseline(tiny_lm, tokenizer, tmp_path, monkeypatch):
    cache = BaselineCache(tmp_path / "cache.json")
    hm = measure_map(tiny_lm, tokenizer, "passkey", {}, [160, 220], [0.0, 1.0], config=CFG, n_cases=3, cache=cache)
    assert [(c.length, c.depth) for c in hm.cells] == [(160, 0.0), (160, 1.0), (220, 0.0), (220, 1.0)]
    for c in hm.cells:
        base = objectives.evaluate(tiny_lm, tokenizer, "passkey", task_params={"length": c.length, "depth": c.depth}, n_cases=3)
        sra = objectives.evaluate(tiny_lm, tokenizer, "passkey", CFG, task_params={"length": c.length, "depth": c.depth}, n_cases=3)
        assert c.baseline == base.score and c.sra == sra.score and not c.baseline_cached
        assert c.delta == pytest.approx(sra.score - base.score)
        assert c.fixed - c.broke == round(3 * c.delta) and 0 <= c.p_value <= 1
        assert c.baseline_ci[0] <= c.baseline <= c.baseline_ci[1]
    # A second config: the baseline comes from the cache, only SRA's forwards run.
    calls = []
    real = objectives.headroom.evaluate
    monkeypatch.setattr(objectives.headroom, "evaluate", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    again = measure_map(tiny_lm, tokenizer, "passkey", {}, [160, 220], [0.0, 1.0], config=CFG, n_cases=3,
                        cache=BaselineCache(tmp_path / "cache.json"))  # fmt: skip
    assert all(c.baseline_cached for c in again.cells) and calls == [CFG] * 4
    assert [c.baseline for c in again.cells] == [c.baseline for c in hm.cells]


def test_map_picture(tiny_lm, tokenizer, tmp_path):
    from sra_search.report.headroom_plot import plot_map

    hm = measure_map(tiny_lm, tokenizer, "kv_retrieval", {"max_pairs": 6}, [200], [0.0, 0.5], config=CFG, n_cases=2)
    assert hm.placement == "position"
    png = plot_map(hm, tmp_path / "m.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    baseline_only = measure_map(tiny_lm, tokenizer, "passkey", {}, [160], [0.5], n_cases=2)
    assert baseline_only.cells[0].sra is None
    assert plot_map(baseline_only, tmp_path / "b.png").is_file()


def test_grid_checks():
    with pytest.raises(ObjectiveError, match="--lengths: no length"):
        check_grid([], [0.5], None)
    with pytest.raises(ObjectiveError, match="--depths: no depth"):
        check_grid([512], [], None)
    with pytest.raises(ObjectiveError, match=r"--depths: 1.5 is not a share in \[0, 1\]"):
        check_grid([512], [0.5, 1.5], None)
    with pytest.raises(ObjectiveError, match="--lengths: 9000 tokens is beyond the model's context of 8192"):
        check_grid([512, 9000], [0.5], 8192)
    with pytest.raises(ObjectiveError, match="task 'perplexity' places no needle"):
        placement_name("perplexity")


def test_headroom_warning_names_the_map_command():
    assert headroom_warning(0.5, 32) is None
    high = headroom_warning(0.94, 32)
    assert "0.94 of the 32 search cases, at or above 0.9" in high and "sra-search map" in high
    assert "at or below 0.1" in headroom_warning(0.0, 32)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lengths", ""], "--lengths: no length given"),
        (["--lengths", "128,abc"], "--lengths: 'abc' is not an integer"),
        (["--lengths", "128", "--depths", "0,2"], r"--depths: 2.0 is not a share in [0, 1]"),
        (["--lengths", "128", "--depths", ""], "--depths: no depth given"),
        (["--lengths", "8192"], "--lengths: 8192 tokens is beyond the model's context of 4096"),
        (["--lengths", "128", "-p", "depth=0.5"], "--task-param depth: the map sets it per cell"),
        (["--lengths", "128", "-p", "colour=red"], "unknown parameter 'colour'"),
        (["--lengths", "128", "--params", "s_in=-1"], "--params: 's_in'"),
    ],
)
def test_map_bad_input_is_one_line_and_writes_nothing(tiny_model_dir, tmp_path, args, message):
    out = tmp_path / "out"
    res = runner.invoke(app, ["map", tiny_model_dir, "passkey", *args, "--out", str(out), "--cache", str(tmp_path / "c")])
    assert res.exit_code == 2, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output, res.output
    assert not out.exists() and not (tmp_path / "c").exists()


def test_map_command_writes_png_and_json(tiny_model_dir, tmp_path):
    res = runner.invoke(app, ["map", tiny_model_dir, "niah", "--lengths", "200", "--depths", "0,1", "--cases", "2",
                              "--params", "c_s=2,c_e=8,s_in=2,s_ou=2", "--out", str(tmp_path / "o"),
                              "--cache", str(tmp_path / "c"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["cells"]) == 2 and data["placement"] == "depth" and data["config"]["c_s"] == 2
    assert (tmp_path / "o" / "map.png").is_file() and json.loads((tmp_path / "o" / "map.json").read_text())["task"] == "niah"
    assert list((tmp_path / "c").glob("*.json"))  # the baseline cache, keyed by model fingerprint
