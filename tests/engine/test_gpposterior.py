import numpy as np
import pytest
import sklearn.gaussian_process

from tuning.engine.gpposterior import mean_and_std


def kerastuner_gp(seed: int, normalize_y: bool = True):
    """The regressor KerasTuner's BayesianOptimization fits (keras_tuner/src/tuners/bayesian.py)."""
    return sklearn.gaussian_process.GaussianProcessRegressor(
        kernel=sklearn.gaussian_process.kernels.Matern(nu=2.5),
        n_restarts_optimizer=20,
        normalize_y=normalize_y,
        alpha=1e-4,
        random_state=seed,
    )


# A length scale at its bound (2 trials, random scores): the oracle silences it too.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("trials", "normalize_y"), [(2, True), (7, True), (25, True), (7, False)])
def test_the_same_bits_as_scikit_learns_predict(trials, normalize_y):
    rng = np.random.default_rng(trials)
    x = rng.uniform(size=(trials, 7))
    y = rng.normal(size=trials)
    gpr = kerastuner_gp(trials, normalize_y).fit(x, y)
    # New points, the trials' own (variance near zero) and a corner of the box.
    for row in [*rng.uniform(size=(200, 7)), *x, np.ones(7)]:
        expected = gpr.predict(row.reshape(1, -1), return_std=True)
        got = mean_and_std(gpr, row)
        for a, b in zip(got, expected, strict=True):
            assert a.shape == b.shape == (1,) and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
