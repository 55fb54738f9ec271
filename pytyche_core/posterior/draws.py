"""Group means of per-visitor draws without copying the draw array.

A fit at n = 350k, S = 200, K = 3 holds 560 MB of float32 effect draws, so
averages over visitors run in blocks of rows with a float64 accumulator
instead of materialising masked copies or a float64 version of the array.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 8_192  # rows per block: a float64 block of S=200, K=3 draws is ~26 MB


def group_means(samples: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-draw mean of each group's visitors: ``samples`` ``(n, S, ...)``, ``labels`` ``(n,)`` ints.

    Visitors labelled outside ``[0, n_groups)`` (e.g. -1) belong to no group.
    Returns float64 ``(n_groups, S, ...)``; an empty group is an error.
    """
    labels = np.asarray(labels)
    if labels.shape != samples.shape[:1]:
        raise ValueError(f"group_means: {labels.shape[0] if labels.ndim else 0} labels for "
                         f"{samples.shape[0]} visitors. Fix: pass one label per visitor row.")
    counts = np.bincount(labels[(labels >= 0) & (labels < n_groups)], minlength=n_groups)
    if (counts == 0).any():
        raise ValueError(f"group_means: group(s) {np.flatnonzero(counts == 0).tolist()} have no visitors. "
                         "Fix: drop empty groups before averaging.")
    flat = samples.reshape(samples.shape[0], -1)
    total = np.zeros((n_groups, flat.shape[1]), dtype=np.float64)
    for start in range(0, flat.shape[0], _BLOCK):
        block = labels[start:start + _BLOCK]
        onehot = (block[None, :] == np.arange(n_groups)[:, None]).astype(np.float64)
        total += onehot @ flat[start:start + _BLOCK].astype(np.float64)
    return (total / counts[:, None]).reshape((n_groups,) + samples.shape[1:])


def member_means(samples: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-draw mean over the visitors where ``mask`` is True: ``(n, S, ...)`` -> ``(S, ...)``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("member_means: the segment selects no visitors. Fix: pass a rule that matches some.")
    return group_means(samples, np.where(mask, 0, -1), 1)[0]
