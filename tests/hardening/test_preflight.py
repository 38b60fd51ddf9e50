"""A study file is checked completely before anything is written (``search/studyfile/preflight.py``): the
model must be loadable, file parameters must exist and lie inside the directories a study may
read, the first case of each task must build, the name must fit Optuna's column. A run that still
fails before its first trial leaves nothing that blocks the corrected file (``search/storage/definition.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sra_search.cli.app import app
from sra_search.search.studyfile import preflight
from sra_search.search.storage.attrs import FAILED_EARLY
from sra_search.search.storage.definition import StudyMismatchError
from sra_search.search.studyfile.schema import StudyFileError, parse_study

REPO = Path(__file__).resolve().parents[2]
HARBOR = REPO / "studies" / "data" / "harbor-town.txt"
runner = CliRunner()


@pytest.mark.parametrize("model", [
    "nonexistent-model", "/etc", "/etc/passwd", "../../..", "./no-such-dir", "~/no-such-dir-xyz", "a/b/c",
    "org/name with space", "..", "/dev/null", "smollm2-135m\n", "org//name", "C:\\models\\x",
])  # fmt: skip
def test_models_that_cannot_load_are_refused(model):
    with pytest.raises(StudyFileError, match=r"^model: "):
        preflight.check_model(model)


def test_a_directory_without_config_json_is_refused(tmp_path):
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(StudyFileError, match="config.json"):
        preflight.check_model(str(tmp_path))


def test_loadable_model_names_pass(tiny_model_dir):
    for name in ("smollm2-135m", "SmolLM2-135M", tiny_model_dir, "HuggingFaceTB/SmolLM2-135M-Instruct"):
        preflight.check_model(name)  # a hub id passes on its shape; its tokenizer must then load
    with pytest.raises(StudyFileError, match="cannot load the tokenizer"):
        preflight.load_tokenizer(str(Path(tiny_model_dir) / "no-such-sub-dir"))


def test_a_hub_id_that_is_not_cached_is_refused_at_once_when_offline(monkeypatch):
    import time

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    t0 = time.monotonic()
    with pytest.raises(StudyFileError, match=r"^model: hub id 'someorg/not-cached-xyz' is not in the local"):
        preflight.load_tokenizer("someorg/not-cached-xyz")
    assert time.monotonic() - t0 < 10  # no minute of hub retries


# ----------------------------------------------------------------------------- files

OUTSIDE = ["/etc/passwd", "/etc", "/dev/zero", "/dev/null", "/proc/self/environ", "/", "/usr/bin/env", "~/.bashrc"]


@pytest.fixture
def study_dir(tmp_path, monkeypatch):
    """A study directory that is also the current directory; links to files outside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(preflight.DATA_ROOT_ENV, raising=False)
    for i, target in enumerate(OUTSIDE):
        (tmp_path / f"link{i}.txt").symlink_to(os.path.expanduser(target))
    (tmp_path / "ok.txt").write_text("some text " * 50)
    os.mkfifo(tmp_path / "fifo.txt")
    return tmp_path


ESCAPES = st.one_of(
    st.sampled_from(OUTSIDE),
    st.integers(1, 12).map(lambda k: "../" * k + "etc/passwd"),
    st.integers(0, 4).map(lambda k: "./" + "sub/../" * k + "../" * 12 + "etc/hostname"),
    st.integers(0, len(OUTSIDE) - 1).map(lambda i: f"link{i}.txt"),
    st.just("fifo.txt"),
    st.from_regex(r"/[a-z]{1,8}/[a-z]{1,8}\.txt", fullmatch=True),
)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ESCAPES, key=st.sampled_from(["data", "text_file"]))
def test_file_parameters_outside_the_allowed_directories_are_refused(study_dir, value, key):
    with pytest.raises(StudyFileError) as err:
        preflight.check_files("constraints.perplexity.params", {key: value}, str(study_dir))
    assert str(err.value).startswith(f"constraints.perplexity.params.{key}: "), str(err.value)


def test_file_parameters_inside_pass_and_a_data_root_widens_them(study_dir, monkeypatch, tmp_path_factory):
    preflight.check_files("p", {"data": "ok.txt", "hub": "Salesforce/wikitext", "kind": "digits"}, str(study_dir))
    preflight.check_files("p", {"data": str(HARBOR)}, None)  # the project's own data
    other = tmp_path_factory.mktemp("data-root")
    (other / "t.txt").write_text("x")
    with pytest.raises(StudyFileError, match="SRA_SEARCH_DATA_ROOT"):
        preflight.check_files("p", {"data": str(other / "t.txt")}, str(study_dir))
    monkeypatch.setenv(preflight.DATA_ROOT_ENV, f"/nonexistent{os.pathsep}{other}")
    preflight.check_files("p", {"data": str(other / "t.txt")}, str(study_dir))


def _study(tmp_path: Path, model: str, data: str, name: str = "pre") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f"""name = "{name}"
model = "{model}"
[[tasks]]
name = "passkey"
params = {{ length = 128 }}
cases = {{ search = 2 }}
[search_space]
tau_in = {{ low = 0.1, high = 1.0 }}
[constraints]
perplexity = {{ max_ratio = 1.5, params = {{ data = "{data}", length = 64, last_k = 16 }} }}
[budget]
trials = 1
[workers]
count = 1
[storage]
url = "sqlite:///{tmp_path / 'db' / 'study.db'}"
heartbeat_s = 1
grace_s = 2
""")
    return path


@pytest.mark.parametrize("data, words", [
    ("/etc/passwd", "outside the directories a study may read"),
    ("../../../../../../../../etc/passwd", "outside the directories a study may read"),
    ("missing.txt", "no such file"),
    ("empty.txt", "first search case cannot be built"),
])  # fmt: skip
def test_run_refuses_before_writing_anything(tmp_path, monkeypatch, tiny_model_dir, data, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("")
    res = runner.invoke(app, ["run", str(_study(tmp_path, tiny_model_dir, data)), "--no-holdout"])
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "Traceback" not in res.output, res.output
    assert "constraints.perplexity" in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "db").exists(), "a refused study file wrote its storage"


def test_study_names_fit_optunas_column():
    base = 'model = "m"\n[[tasks]]\nname = "passkey"\n[search_space]\ntau_in = { low = 0.1, high = 1.0 }\n[budget]\ntrials = 1\n'
    parse_study(f'name = "{"a" * 512}"\n' + base)
    with pytest.raises(StudyFileError, match=r"x.toml:1: name: String should have at most 512 characters"):
        parse_study(f'name = "{"a" * 513}"\n' + base, "x.toml")


# ----------------------------------------------------------------------------- failed before the first trial


@pytest.fixture
def workers_fail(monkeypatch):
    """Workers that cannot start: the run stops after the study was created, before its first trial."""
    from sra_search.search.execution.pool import WorkerPool, WorkerSetupError

    def fail(self):
        raise WorkerSetupError("worker 0 could not load the model: out of memory")

    monkeypatch.setattr(WorkerPool, "start", fail)
    monkeypatch.setattr(WorkerPool, "stop", lambda self: None)  # nothing started; spares importing Ray


def test_a_study_that_never_ran_a_trial_is_replaced_by_the_corrected_file(tmp_path, monkeypatch, tiny_model_dir, workers_fail):
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, tiny_model_dir, str(HARBOR))
    first = runner.invoke(app, ["run", str(study), "--no-holdout"])
    assert first.exit_code == 2 and "out of memory" in first.output, first.output
    url = f"sqlite:///{tmp_path / 'db' / 'study.db'}"
    stored = optuna.load_study(study_name="pre", storage=url)
    assert "out of memory" in FAILED_EARLY.get(stored)
    # The user fixes the file (a defining part changes) and runs again: no "different definition".
    study.write_text(study.read_text().replace("max_ratio = 1.5", "max_ratio = 1.4"))
    again = runner.invoke(app, ["run", str(study), "--no-holdout"])
    assert again.exit_code == 2 and "different definition" not in again.output and "out of memory" in again.output
    from sra_search.search.studyfile.schema import load_study_file

    assert optuna.load_study(study_name="pre", storage=url).user_attrs["definition_hash"] == load_study_file(study).definition_hash()


@pytest.mark.parametrize("history", ["a finished trial", "no failed start"])
def test_a_study_with_results_is_never_replaced(tmp_path, monkeypatch, tiny_model_dir, history):
    from sra_search.search.driver import Driver, RunOptions
    from sra_search.search.studyfile.schema import load_study_file

    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, tiny_model_dir, str(HARBOR))
    driver = Driver(load_study_file(study), RunOptions(holdout=False))
    st_ = driver.open_study()
    if history == "a finished trial":
        FAILED_EARLY.set(st_, "WorkerSetupError: x")
        st_.tell(st_.ask(), 0.5)
    study.write_text(study.read_text().replace("max_ratio = 1.5", "max_ratio = 1.4"))
    with pytest.raises(StudyMismatchError, match="different definition"):
        Driver(load_study_file(study), RunOptions(holdout=False)).open_study()
