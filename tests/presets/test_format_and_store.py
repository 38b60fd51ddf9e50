import json
import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from sra_search.presets import (
    PresetFormatError,
    PresetNotFoundError,
    PresetWriteError,
    Registry,
    publish,
    read_preset,
    redact_url,
)
from sra_search.presets.schema import Preset, Provenance
from sra_search.presets.store import dumps
from tests.presets.conftest import LONG, SHORT, make_preset

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip_and_fixed_key_order(tmp_path):
    p, path = publish(make_preset(), tmp_path)
    assert path == tmp_path / "tiny-llama" / "passkey" / "v1.json"
    again = read_preset(path)
    assert again == p
    keys = list(json.loads(path.read_text()))
    assert keys == list(Preset.model_fields)  # written in schema order, not alphabetically
    assert path.read_text() == dumps(again)


def test_checked_in_json_schema_is_generated_from_the_model():
    on_disk = json.loads((ROOT / "presets/schema/preset-v3.json").read_text())
    assert on_disk == Preset.model_json_schema()


def test_versions_only_grow_and_files_are_read_only(tmp_path):
    a, pa = publish(make_preset(), tmp_path)
    b, pb = publish(make_preset(notes="second"), tmp_path)
    assert (a.version, b.version) == (1, 2)
    assert not os.stat(pa).st_mode & stat.S_IWUSR
    reg = Registry(tmp_path)
    assert reg.get("tiny-llama", "passkey").version == 2
    assert reg.get("tiny-llama", "passkey", 1).notes == ""
    assert [r.version for r in reg.list()] == [1, 2]


def _publish_many(root: str, n: int, q) -> None:
    out = []
    for i in range(n):
        p, _ = publish(make_preset(notes=f"pid {os.getpid()} #{i}"), Path(root))
        out.append(p.version)
    q.put(out)


def test_concurrent_exports_get_distinct_versions(tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_publish_many, args=(str(tmp_path), 5, q)) for _ in range(4)]
    for p in procs:
        p.start()
    got = sorted(v for _ in procs for v in q.get(timeout=120))
    for p in procs:
        p.join(timeout=60)
    assert got == list(range(1, 21))
    files = sorted((tmp_path / "tiny-llama" / "passkey").iterdir())
    assert len(files) == 20  # no temp file left behind
    for f in files:
        read_preset(f)  # every file whole and valid


def _publish_with_tiny_file_limit(root: str, q) -> None:
    import resource
    import signal

    # The kernel refuses writes past 200 bytes (EFBIG), as a full disk would refuse them.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
    try:
        publish(make_preset(), Path(root))
        q.put("published")
    except PresetWriteError as e:
        q.put(f"error: {e}")


def test_write_failure_is_a_clear_error_and_changes_nothing(tmp_path):
    publish(make_preset(), tmp_path)
    d = tmp_path / "tiny-llama" / "passkey"
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_publish_with_tiny_file_limit, args=(str(tmp_path), q))
    proc.start()
    outcome = q.get(timeout=120)
    proc.join(timeout=60)
    assert outcome.startswith("error: cannot write preset")
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before  # no v2, no temp file


def test_names_cannot_escape_the_registry(tmp_path):
    reg = Registry(tmp_path)
    for model, task in [("../etc", "passkey"), ("m", "../../x"), ("M", "t"), ("a/b", "t"), ("..", "t")]:
        with pytest.raises(ValueError, match="not a valid name"):
            reg.get(model, task)
    with pytest.raises(ValidationError, match="not a valid name"):
        make_preset(model="../evil")


def test_lookup_errors_and_resolve(tmp_path):
    publish(make_preset(), tmp_path)
    reg = Registry(tmp_path)
    assert reg.resolve("tiny-llama", "passkey", 50) == SHORT
    assert reg.resolve("tiny-llama", "passkey", 61) == LONG
    with pytest.raises(PresetNotFoundError, match="no bucket for 500"):
        reg.resolve("tiny-llama", "passkey", 500)
    with pytest.raises(PresetNotFoundError, match="no preset"):
        reg.get("tiny-llama", "summarization")
    with pytest.raises(PresetNotFoundError, match="no version 9"):
        reg.get("tiny-llama", "passkey", 9)


def test_search_order_env_directory_first(tmp_path, monkeypatch):
    user, other = tmp_path / "user", tmp_path / "other"
    publish(make_preset(notes="user"), user)
    publish(make_preset(notes="other"), other)
    publish(make_preset(notes="other v2"), other)
    monkeypatch.setenv("SRA_SEARCH_PRESETS", f"{user}{os.pathsep}{other}")
    assert Registry().get("tiny-llama", "passkey").notes == "user"


def test_bad_buckets_and_passwords_rejected():
    with pytest.raises(ValidationError, match="overlap"):
        make_preset(buckets=[make_preset().buckets[0], make_preset().buckets[0]])
    with pytest.raises(ValidationError, match="password"):
        make_preset().provenance.model_validate(
            {**make_preset().provenance.model_dump(), "storage": "postgresql://u:secret@h/db"}
        )
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    make_preset().provenance.model_validate(
        {**make_preset().provenance.model_dump(), "storage": redact_url("postgresql://u:secret@h/db")}
    )


def test_malformed_file_reported_not_fatal(tmp_path):
    publish(make_preset(), tmp_path)
    _, p2 = publish(make_preset(), tmp_path)
    p2.chmod(0o644)
    p2.write_text(p2.read_text().replace('"num_layers": 4', '"num_layers": "four"'))
    reg = Registry(tmp_path)
    assert len(reg.list()) == 2
    (problem,) = reg.problems()
    assert "model.num_layers" in problem
    with pytest.raises(PresetFormatError, match="model.num_layers"):
        reg.get("tiny-llama", "passkey")


def test_presets_that_do_not_beat_baseline_are_skipped_by_lookups(tmp_path):
    publish(make_preset(notes="proven"), tmp_path)
    publish(make_preset(beats_baseline=False, notes="forced"), tmp_path)
    reg = Registry(tmp_path)
    assert reg.get("tiny-llama", "passkey").notes == "proven"  # latest *proven* version
    assert reg.get("tiny-llama", "passkey", include_unproven=True).version == 2
    with pytest.raises(PresetNotFoundError, match="does not beat its baseline"):
        reg.get("tiny-llama", "passkey", 2)
    only_forced = tmp_path / "forced"
    publish(make_preset(beats_baseline=False), only_forced)
    with pytest.raises(PresetNotFoundError, match="findings, not recommendations"):
        Registry(only_forced).resolve("tiny-llama", "passkey", 50)


def _v2(p, *, shown: bool, **kw):
    """``p`` as a version-2 preset: every bucket with its evidence and per-case outcomes."""
    from sra_search.presets.schema import CaseOutcomes, Evidence

    buckets = []
    for b in p.buckets:
        ev = Evidence(test="exact McNemar (sign test)", n=8, statistic=3, p_value=0.02 if shown else 0.5,
                      p_adjusted=0.04 if shown else 1.0, alpha=0.05, delta=0.1, ci_low=0.01 if shown else -0.2,
                      ci_high=0.3, interval_level=0.9, ci_method="BCa bootstrap", sra_only=3, baseline_only=0,
                      shown=shown)  # fmt: skip
        outcomes = CaseOutcomes(keys=[f"passkey:x:holdout:{i}" for i in range(8)], sra=[1.0] * 8, baseline=[0.0] * 8)
        buckets.append(b.model_copy(update={"metrics": b.metrics.model_copy(update={"evidence": ev}), "outcomes": outcomes}))
    return Preset.model_validate({**p.model_dump(), "schema_version": 2, "buckets": [b.model_dump() for b in buckets], **kw})


def test_version_2_records_evidence_and_outcomes_and_version_1_stays_readable(tmp_path):
    v2 = _v2(make_preset(), shown=True)
    _, path = publish(v2, tmp_path)
    again = read_preset(path)
    assert again.schema_version == 2 and again.buckets[0].metrics.evidence.shown and len(again.buckets[0].outcomes.keys) == 8
    data = v2.model_dump(mode="json")
    data["buckets"][0]["outcomes"] = None
    with pytest.raises(ValidationError, match="records metrics.evidence and outcomes"):
        Preset.model_validate(data)
    v1 = make_preset().model_dump(mode="json")
    v1["buckets"][0]["metrics"]["evidence"] = v2.buckets[0].metrics.evidence.model_dump(mode="json")
    with pytest.raises(ValidationError, match="schema_version 1 has no evidence"):
        Preset.model_validate(v1)
    with pytest.raises(ValidationError, match="differ in length"):
        Preset.model_validate({**data, "buckets": [{**data["buckets"][1], "outcomes": {"keys": ["a"], "sra": [], "baseline": []}}]})
    shipped = Registry(ROOT / "presets").get("smollm2-135m", "passkey", include_unproven=True)
    assert shipped.schema_version in (1, 2, 3)  # shipped files read


def test_a_gated_finding_supersedes_the_older_versions(tmp_path):
    publish(make_preset(notes="old claim"), tmp_path)  # version 1 format, 8 cases
    publish(_v2(make_preset(), shown=False, beats_baseline=False, notes="re-measured: not shown"), tmp_path)
    reg = Registry(tmp_path)
    with pytest.raises(PresetNotFoundError, match="older versions are superseded"):
        reg.get("tiny-llama", "passkey")
    assert reg.get("tiny-llama", "passkey", include_unproven=True).notes == "re-measured: not shown"
    assert reg.get("tiny-llama", "passkey", 1).notes == "old claim"  # still there when asked for by number
    publish(_v2(make_preset(), shown=True, notes="shown"), tmp_path)
    assert reg.get("tiny-llama", "passkey").notes == "shown"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SECRET_CHARS = st.text(alphabet=st.sampled_from("abcXYZ019/@:!~-._%$"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["postgresql", "postgresql+psycopg2", "mysql+pymysql", "sqlite", "redis"]),
    user=st.text(alphabet="abcdef_", max_size=6),
    secret=_SECRET_CHARS,
    host=st.sampled_from(["h", "db.example", "10.0.0.1:5432", "h:badport", "[::1]:5432"]),
    path=st.sampled_from(["", "/db", "/${UNSET_VAR}", "/a/b"]),
    where=st.sampled_from(["userinfo", "query", "both"]),
    key=st.sampled_from(["password", "sslpassword", "PWD", "token", "api_key"]),
)
def test_redact_url_never_shows_a_secret_wherever_it_sits(scheme, user, secret, host, path, where, key):
    marked = "SEKRIT" + secret  # a secret that appears nowhere else in the URL
    userinfo = f"{user}:{marked}@" if where in ("userinfo", "both") else (f"{user}@" if user else "")
    query = f"?sslmode=require&{key}={marked}" if where in ("query", "both") else ""
    url = f"{scheme}://{userinfo}{host}{path}{query}"
    shown = redact_url(url)
    assert "SEKRIT" not in shown and redact_url(shown) == shown
    # A preset refuses the URL with the secret and accepts it redacted.
    prov = make_preset().provenance.model_dump()
    with pytest.raises(ValidationError, match="password or other secret"):
        Provenance.model_validate({**prov, "storage": url})
    Provenance.model_validate({**prov, "storage": shown})


@pytest.mark.parametrize("text", ["not a url SEKRIT", "SEKRIT@host", "postgresql:/SEKRIT@h"])
def test_redact_url_shows_only_the_scheme_of_what_it_cannot_read(text):
    assert "SEKRIT" not in redact_url(text)
