"""The Bayesian Causal Forest engine, written in JAX (work in progress; see issue 3).

Modules, one idea each: ``binning`` (covariates -> uint8 bins), ``forest``
(heap-array trees and their shape), ``moves`` (grow/prune proposals),
``leaves`` (marginal likelihood and leaf draws), ``sweep`` (one backfitting
pass over a forest), ``models`` (one MCMC step of a channel), ``run``
(chains, blocks, draws to the host), ``config`` (``BCFConfig``).
"""

# chains first: it asks JAX for one CPU device per core, which must happen before JAX starts.
from . import chains  # noqa: F401
from .config import BCFConfig

__all__ = ["BCFConfig"]
