"""Small builders of valid data shared by the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def visitor_frame(variant: str, n: int, *, experiment_id: str = "exp-1", seed: int = 0,
                  start: int = 0) -> pd.DataFrame:
    """A valid visitor frame with two features (one numeric, one categorical)."""
    rng = np.random.default_rng(seed)
    converted = rng.random(n) < 0.3
    revenue = np.where(converted, rng.lognormal(3.0, 0.5, n), 0.0)
    return pd.DataFrame({
        "visitor_id": [f"{variant}-{start + i}" for i in range(n)],
        "experiment_id": experiment_id,
        "variant": variant,
        "converted": converted,
        "revenue": revenue,
        "orders_count": converted.astype("int64"),
        "sessions_count": np.ones(n, dtype="int64"),
        "engagement": rng.normal(size=n),
        "device": pd.Categorical(rng.choice(["desktop", "mobile"], n), categories=["desktop", "mobile"]),
    })
