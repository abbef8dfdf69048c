"""Values typed by a search space's declarations: from the command line and from a CSV."""

from __future__ import annotations

import keras_tuner as kt
import pytest

from tuning.engine.usercode import typed_value


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0.0), ("0.0", 0.0), ("1e-06", 1e-06), ("0.3333333333", 1 / 3)]
)
def test_a_choice_of_floats_takes_its_number_however_it_is_written(text, value):
    hp = kt.HyperParameters()
    hp.Choice("rate", [0.0, 1e-06, 1 / 3])
    typed = typed_value(hp.space[0], text)
    assert typed == value and type(typed) is float


@pytest.mark.parametrize(
    ("declare", "text", "value"),
    [
        (lambda hp: hp.Int("units", 16, 64), "32", 32),
        (lambda hp: hp.Float("lr", 1e-4, 1e-2), "0.0006923557484", 0.0006923557484),
        (lambda hp: hp.Boolean("batch_norm"), "True", True),
        (lambda hp: hp.Choice("activation", ["relu", "elu"]), "elu", "elu"),
        (lambda hp: hp.Fixed("units", 32), "99", 32),
    ],
)
def test_each_kind_of_declaration_types_its_text(declare, text, value):
    hp = kt.HyperParameters()
    declare(hp)
    typed = typed_value(hp.space[0], text)
    assert typed == value and type(typed) is type(value)


@pytest.mark.parametrize(("text", "why"), [("0.5", "is not a value of"), ("99", "is outside")])
def test_a_value_the_declaration_refuses_is_a_value_error(text, why):
    hp = kt.HyperParameters()
    hp.Choice("rate", [0.0, 0.1]) if why == "is not a value of" else hp.Int("units", 16, 64)
    with pytest.raises(ValueError, match=why):
        typed_value(hp.space[0], text)
