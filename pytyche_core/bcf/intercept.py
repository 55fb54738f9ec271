"""The treatment intercept: one value per arm beside the treatment forest (docs/concepts/sampler-math.md §3c).

With ``BCFConfig(treatment_intercept=True)`` a channel's model is

    target = offset + mu(x) + tau0_z + tau_z(x) + eps,

``tau0`` [K] (control 0) with its own wide prior N(0, v0). The forest's leaf
prior is scaled for heterogeneity (tight at realistic conversion rates), so
without ``tau0`` a large average effect is shrunk toward 0 along with it;
``tau0`` carries the average and the forest what differs around it.

Given everything else, ``tau0_k`` is a single leaf holding every visitor of
arm k: its conjugate posterior is the leaf posterior of ``leaves.py`` with
``n`` the arm's weight and ``S`` the sum of its partial residuals.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .leaves import posterior_draw


def draw_intercept(key: jax.Array, tau0: jax.Array, residual: jax.Array, arm: jax.Array, weight: jax.Array,
                   sigma2: jax.Array, prior_var: jax.Array, *, prior_only: bool = False
                   ) -> tuple[jax.Array, jax.Array]:
    """Gibbs draw of ``tau0`` [K] given the residual [n] (which includes the old ``tau0``); returns the
    new ``tau0`` and the residual with it. ``prior_var`` [K] is 0 for control, which stays 0.

    ``prior_only`` drops the likelihood (the prior-only chain of the exact tests)."""
    k = tau0.shape[0]
    partial = residual + tau0[arm]
    count = jax.ops.segment_sum(weight, arm, num_segments=k)
    total = jax.ops.segment_sum(weight * partial, arm, num_segments=k)
    if prior_only:
        count, total = jnp.zeros_like(count), jnp.zeros_like(total)
    new = posterior_draw(jax.random.normal(key, (k,), tau0.dtype), count, total, sigma2, prior_var)
    return new, partial - new[arm]
