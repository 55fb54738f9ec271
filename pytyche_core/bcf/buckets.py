"""Visitor counts padded to a few sizes, so fits of nearby sizes share one compiled sampler.

XLA compiles the sampler for each array shape. Rounds of a sequential
experiment grow n every round, and the order-value channel's n is the number
of converters, different in every fit: unpadded, almost every fit compiles
afresh (seconds to tens of seconds). Padded to the next size of a geometric
ladder (ratio 2^(1/4); about 9% more rows on average, at most 20% above
5,000 visitors and 26% just above the 512 floor, from rounding to 64) with rows of
weight 0, fits of nearby sizes reuse one executable, in memory or from the
persistent compilation cache. Weight-0 rows are carried along and never
enter a sum (the same mechanism carries visitors outside a channel's
likelihood), so the posterior is unchanged; only the random streams differ.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

#: The smallest padded size; smaller channels are padded up to it.
MIN_BUCKET = 512
#: Sizes grow by this factor from one bucket to the next.
STEPS_PER_DOUBLING = 4


def bucket_size(n: int) -> int:
    """The smallest ladder size >= n: MIN_BUCKET * 2^(i / STEPS_PER_DOUBLING), rounded up to a multiple of 64."""
    if n <= MIN_BUCKET:
        return MIN_BUCKET
    i = math.ceil(STEPS_PER_DOUBLING * math.log2(n / MIN_BUCKET) - 1e-9)
    size = MIN_BUCKET * 2 ** (i / STEPS_PER_DOUBLING)
    return int(64 * math.ceil(size / 64))


def pad_rows(inputs, size: int):
    """``inputs`` (a ChannelInputs) with rows of weight 0 appended up to ``size`` visitors."""
    n = inputs.target.shape[0]
    extra = size - n
    if extra < 0:
        raise ValueError(f"pad_rows: {n} visitors do not fit in {size}")
    if extra == 0:
        return inputs
    return dataclasses.replace(
        inputs,
        bins=np.concatenate([inputs.bins, np.zeros((inputs.bins.shape[0], extra), inputs.bins.dtype)], axis=1),
        arm=np.concatenate([inputs.arm, np.zeros(extra, inputs.arm.dtype)]),
        target=np.concatenate([inputs.target, np.zeros(extra, inputs.target.dtype)]),
        weight=np.concatenate([inputs.weight, np.zeros(extra, inputs.weight.dtype)]))


__all__ = ["MIN_BUCKET", "STEPS_PER_DOUBLING", "bucket_size", "pad_rows"]
