"""Covariate binning: quantile edges, categorical codes, same bins for new data, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pytyche_core.bcf.binning import apply_bins, fit_bins


def test_numeric_categorical_and_bool_features():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=5000),
        "few": rng.integers(0, 4, 5000).astype(float),
        "device": pd.Categorical(rng.choice(["app", "desktop", "mobile"], 5000)),
        "flag": rng.random(5000) < 0.3,
    })
    binned = fit_bins(frame, max_bins=32)
    assert binned.bins.dtype == np.uint8 and binned.bins.shape == (4, 5000)
    assert binned.n_bins.tolist() == [32, 4, 3, 2]
    # Quantile bins are roughly equally full; a split "bin <= c" is "x <= threshold".
    counts = np.bincount(binned.bins[0], minlength=32)
    assert counts.min() > 5000 / 32 * 0.6
    x_spec = binned.features[0]
    for c in (0, 10, 30):
        np.testing.assert_array_equal(binned.bins[0] <= c, frame["x"].to_numpy() <= x_spec.threshold(c))
    assert binned.features[2].categories_left(0) == ("app",)
    np.testing.assert_array_equal(apply_bins(frame.iloc[:50], binned.features), binned.bins[:, :50])


def test_bad_features_fail_with_a_fix():
    with pytest.raises(ValueError, match="missing value at row 1"):
        fit_bins(pd.DataFrame({"x": [0.0, np.nan, 1.0]}))
    binned = fit_bins(pd.DataFrame({"d": ["a", "b", "a"]}))
    with pytest.raises(ValueError, match="unseen"):
        apply_bins(pd.DataFrame({"d": ["c"]}), binned.features)
    with pytest.raises(ValueError, match="no covariates"):
        fit_bins(pd.DataFrame(index=range(3)))
