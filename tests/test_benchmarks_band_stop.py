"""`benchmarks/band_stop.py`: the first-chunk stop's risk, on hand-made per-chunk statistics."""

from benchmarks import band_stop as bs
from sra_search.runtime.stats import SRASummary
from sra_search.search.studyfile.schema import AttentionConstraint


def _chunks(*means: float, edited: int = 100) -> list[dict]:
    return [SRASummary(examined_rows=1000, edited_rows=edited, accumulated_attention_mean=m).to_dict() for m in means]


def test_stops_and_false_stops_per_margin():
    per_config = {
        "low": _chunks(1.05, 1.06, 1.06, 1.07),  # below the band throughout: a true stop at margin <= 0.05
        "edge": _chunks(1.085, 1.12, 1.12, 1.12),  # first chunk 0.015 below; 1.11 over all: inside the band
        "inside": _chunks(1.2, 1.2, 1.2, 1.2),
    }
    rows = {r.margin: r for r in bs.risks(per_config, AttentionConstraint(low=1.1, high=1.4), n=16, chunk=4)}
    assert (rows[0.0].stops, rows[0.0].false_stops, rows[0.0].cases_saved) == (2, 1, 24)
    assert (rows[0.01].stops, rows[0.01].false_stops) == (2, 1)
    assert (rows[0.02].stops, rows[0.02].false_stops) == (1, 0)
    assert (rows[0.05].stops, rows[0.05].false_stops) == (0, 0)
    # The band's value over chunks is the driver's merge: weighted by edited rows.
    assert bs.attention(_chunks(1.1) + _chunks(1.3, edited=300)) == 1.25
