import math

import pytest
from pydantic import ValidationError

from sra_search import SRAConfig

GOOD = dict(tau_in=0.5, tau_ou=0.5, s_in=2.0, s_ou=2.0, c_s=4, c_e=32)


def test_defaults_and_paper_config():
    cfg = SRAConfig(**GOOD)
    assert cfg.inter and cfg.outer and cfg.gem_share == 0.01
    p = SRAConfig.paper_public()
    assert (p.tau_in, p.tau_ou, p.s_in, p.s_ou, p.c_s, p.c_e) == (0.5, 0.5, 5.0, 5.0, 5, 50)


@pytest.mark.parametrize(
    "field,value",
    [
        ("tau_in", 0.0),
        ("tau_ou", -1.0),
        ("s_in", -0.1),
        ("s_ou", math.inf),
        ("tau_in", math.nan),
        ("c_s", -1),
        ("c_e", 0),
        ("gem_share", 1.5),
        ("s_in", "big"),
    ],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValidationError) as err:
        SRAConfig(**{**GOOD, field: value})
    assert field in str(err.value)


def test_unknown_and_missing_fields_rejected():
    with pytest.raises(ValidationError, match="s_inn"):
        SRAConfig(**GOOD, s_inn=1.0)
    with pytest.raises(ValidationError, match="c_e"):
        SRAConfig(**{k: v for k, v in GOOD.items() if k != "c_e"})


def test_frozen():
    cfg = SRAConfig(**GOOD)
    with pytest.raises(ValidationError):
        cfg.s_in = 3.0
