import numpy as np
import pytest
import sklearn.base

from tuning.engine.gpposterior import mean_and_std

from helpers import tried_oracle


# A length scale at its bound (2 trials, random scores): the oracle silences it too.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("trials", "normalize_y"), [(2, True), (7, True), (25, True), (7, False)])
def test_the_same_bits_as_scikit_learns_predict(tmp_path, trials, normalize_y):
    # The regressor the oracle fits (KerasTuner's), unfitted, with and without normalize_y.
    gpr = sklearn.base.clone(tried_oracle(tmp_path).gpr).set_params(normalize_y=normalize_y)
    rng = np.random.default_rng(trials)
    x = rng.uniform(size=(trials, 7))
    gpr.fit(x, rng.normal(size=trials))
    # New points, the trials' own (variance near zero) and a corner of the box.
    for row in [*rng.uniform(size=(200, 7)), *x, np.ones(7)]:
        expected = gpr.predict(row.reshape(1, -1), return_std=True)
        got = mean_and_std(gpr, row)
        for a, b in zip(got, expected, strict=True):
            assert a.shape == b.shape == (1,) and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
