"""``BCFConfig``: every setting of the sampler, with documented defaults.

Defaults follow Hahn, Murray & Carvalho (2020): a prognostic forest of 200
trees (alpha 0.95, beta 2) and a treatment forest of 50 trees (alpha 0.25,
beta 3) whose trees are mostly stumps, so heterogeneity must earn its splits.
Leaf prior variances follow docs/concepts/sampler-math.md §3 (scaled by ``*_leaf_scale``).
"""

from __future__ import annotations

import dataclasses

from ..contracts._checks import fail, finite_float, integer, set_field


@dataclasses.dataclass(frozen=True)
class BCFConfig:
    """Sampler settings. ``draws`` are kept per chain; the result holds ``chains * draws`` draws.

    - ``mu_trees``, ``mu_alpha``, ``mu_beta``: prognostic forest and its depth prior.
    - ``tau_trees``, ``tau_alpha``, ``tau_beta``: treatment-effect forest and its depth prior.
    - ``tau_alpha_concentration``: the treatment forest's ``tau_alpha`` is sampled each iteration
      from a discrete Beta-shaped prior over a grid, with mean ``tau_alpha`` and this concentration
      (a + b; default 4, a Beta(1, 3) shape around 0.25), so the forest's own splits decide how deep
      the effect surface goes (``bcf.depth_prior``; docs/concepts/sampler-math.md §3d). None fixes
      alpha at ``tau_alpha`` (the default before 2026-12-02; docs/benchmarks.md compares them).
    - ``max_depth``: the deepest a leaf may sit (the root is depth 0).
    - ``change_probability``: the share of tree proposals that change the split rule of a node
      whose children are both leaves (the rest grow or prune). Changes let a tree swap a split for a
      better one without pruning and regrowing through a worse tree (docs/concepts/sampler-math.md §2).
    - ``max_bins``: bins per covariate (quantiles; at most 255 cut points).
    - ``min_leaf_size``: a grow leaving a child with fewer visitors is rejected.
    - ``burn_in``, ``draws``, ``chains``, ``thin``: MCMC length (per chain) and thinning.
    - ``hold_scales``: burn-in iterations during which the sampled leaf variances and the treatment
      forest's alpha stay at their prior values. None (the default) holds them through half the
      burn-in; a number holds them that many iterations, rounded up to whole blocks of
      ``chunk * thin`` and at most half the burn-in. From the empty start every leaf is near 0 and
      a variance drawn from them would follow them down, but a few dozen iterations are enough
      for the trees to carry the fit, and the variances mix more slowly than the effects: with a
      short burn-in, ``hold_scales=25`` leaves them more of it (``burn_in=100, draws=50,
      hold_scales=25`` matched the default's accuracy at realistic effect sizes in half the
      sweeps; docs/benchmarks.md, "Half the sweeps, and when the leaf variances start").
    - ``mu_leaf_scale``, ``tau_leaf_scale``: multiply the default leaf prior variances.
    - ``warm_start``: grow-from-root sweeps (XBART) before the MCMC burn-in; each regrows every
      tree from its root, so the chains start where the data are. Never kept as draws.
    - ``sample_leaf_scales``, ``leaf_scale_shape``: when True (the default), each forest's leaf
      variance (per arm for the treatment forest) is sampled from an inverse-gamma prior of this
      shape whose mean is the default above, so a forest without signal shrinks its own leaves
      and one with signal keeps them wide (docs/concepts/sampler-math.md §3b). False fixes them
      at the prior mean.
    - ``rescale_leaves``: when True (needs ``sample_leaf_scales``), each sampled leaf variance is
      followed by a Metropolis move that scales the forest's leaves and that variance together,
      which the one-at-a-time draws cannot do quickly where the data say little about the leaves
      (``bcf.rescale``; docs/concepts/sampler-math.md §3e). Off by default while it is measured.
    - ``tau_leaf_dof``: when set (> 0), the treatment forest's leaves are Student-t with these
      degrees of freedom instead of normal: each leaf N(0, v lam) with its own tail scale
      lam ~ IG(dof / 2, dof / 2), so most leaves stay small while a few (a small group with a large
      effect) escape the shrinkage one shared variance imposes (docs/concepts/sampler-math.md §3g).
      None (the default) keeps normal leaves. Measured at 3: better where effects are large and sit
      in a few segments, worse at realistic effect sizes (docs/benchmarks.md, "Student-t treatment
      leaves"). Not yet combined with ``warm_start``, ``rescale_leaves`` or change moves.
    - ``tau_sweeps``: passes over the treatment side (its trees, alpha, leaf variances) in each
      iteration, after the one pass over the prognostic forest. Each pass leaves the posterior
      invariant, so more passes only move the treatment forest faster per iteration, at about a
      fifth of an iteration's cost each with the default forests (docs/concepts/sampler-math.md §3f).
    - ``treatment_intercept``, ``treatment_intercept_var``: when True, each channel samples one
      intercept per treatment arm beside the treatment forest, with its own prior N(0, var) on the
      model scale (probit: latent utility units; Gaussian: the standardised target), so the
      average effect is not shrunk by the forest's tight leaf prior (docs/concepts/sampler-math.md
      §3c). Off by default while it is measured across the catalog.
    - ``probit_delta_max``, ``probit_max_relative_lift``: the largest plausible change in
      conversion probability, absolute (mapped at phi(0)) and relative to the observed rate
      (mapped at that rate); the smaller sets the probit treatment leaf scale
      (``families.probit_effect_scale``; docs/concepts/sampler-math.md §3).
    - ``sigma_nu``, ``sigma_quantile``: the noise prior InvGamma(nu/2, nu lam/2), lam set so that
      P(sigma^2 < var(target)) = sigma_quantile.
    - ``chunk``: kept draws per transfer to the host (bounds device memory; drives the progress
      bar). The running fits and residual are recomputed exactly from the trees at the start of
      every chunk, which stops float32 drift.
    - ``pad_to_buckets``: pad each channel's visitors with weight-0 rows to the next of a few
      sizes (``bcf.buckets``), so fits of nearby sizes share one compiled sampler.
    """

    mu_trees: int = 200
    mu_alpha: float = 0.95
    mu_beta: float = 2.0
    tau_trees: int = 50
    tau_alpha: float = 0.25
    tau_beta: float = 3.0
    tau_alpha_concentration: float | None = 4.0
    max_depth: int = 6
    change_probability: float = 0.0
    max_bins: int = 255
    min_leaf_size: int = 5
    burn_in: int = 200
    hold_scales: int | None = None
    draws: int = 100
    chains: int = 2
    thin: int = 1
    mu_leaf_scale: float = 1.0
    tau_leaf_scale: float = 1.0
    warm_start: int = 0
    sample_leaf_scales: bool = True
    rescale_leaves: bool = False
    tau_sweeps: int = 1
    tau_leaf_dof: float | None = None
    leaf_scale_shape: float = 1.5
    treatment_intercept: bool = False
    treatment_intercept_var: float = 1.0
    probit_delta_max: float = 0.9
    probit_max_relative_lift: float = 1.0
    sigma_nu: float = 3.0
    sigma_quantile: float = 0.9
    chunk: int = 25
    pad_to_buckets: bool = True

    def __post_init__(self) -> None:
        owner = "BCFConfig"
        for name, minimum in (("mu_trees", 1), ("tau_trees", 1), ("max_depth", 1), ("min_leaf_size", 0),
                              ("burn_in", 0), ("warm_start", 0), ("tau_sweeps", 1), ("draws", 1), ("chains", 1),
                              ("thin", 1), ("chunk", 1)):
            set_field(self, name, integer(owner, name, getattr(self, name), minimum=minimum))
        if self.hold_scales is not None:
            set_field(self, "hold_scales", integer(owner, "hold_scales", self.hold_scales, minimum=0))
        if self.max_depth > 10:
            raise fail(owner, "max_depth", f"{self.max_depth} > 10", "BCF trees are shallow; use <= 10")
        max_bins = integer(owner, "max_bins", self.max_bins, minimum=2)
        if max_bins > 256:
            raise fail(owner, "max_bins", f"{max_bins} > 256", "bins are uint8: use at most 256")
        for name in ("mu_alpha", "tau_alpha"):
            value = finite_float(owner, name, getattr(self, name))
            if not 0.0 < value < 1.0:
                raise fail(owner, name, f"{value} outside (0, 1)", "pass a split probability at the root")
            set_field(self, name, value)
        for name in ("mu_beta", "tau_beta", "mu_leaf_scale", "tau_leaf_scale", "sigma_nu",
                     "probit_max_relative_lift", "treatment_intercept_var"):
            value = finite_float(owner, name, getattr(self, name))
            if value <= 0 and name != "mu_beta" and name != "tau_beta":
                raise fail(owner, name, f"{value} <= 0", "pass a positive value")
            if value < 0:
                raise fail(owner, name, f"{value} < 0", "pass a non-negative value")
            set_field(self, name, value)
        for name in ("sample_leaf_scales", "pad_to_buckets", "treatment_intercept", "rescale_leaves"):
            if not isinstance(getattr(self, name), bool):
                raise fail(owner, name, repr(getattr(self, name)), "pass True or False")
        if self.rescale_leaves and not self.sample_leaf_scales:
            raise fail(owner, "rescale_leaves", "True with sample_leaf_scales=False",
                       "turn sample_leaf_scales on (the move rescales a sampled leaf variance) or rescale_leaves off")
        shape = finite_float(owner, "leaf_scale_shape", self.leaf_scale_shape)
        if shape <= 1.0:
            raise fail(owner, "leaf_scale_shape", f"{shape} <= 1", "pass a shape > 1 (the prior mean must exist)")
        set_field(self, "leaf_scale_shape", shape)
        if self.tau_alpha_concentration is not None:
            concentration = finite_float(owner, "tau_alpha_concentration", self.tau_alpha_concentration)
            if concentration <= 0:
                raise fail(owner, "tau_alpha_concentration", f"{concentration} <= 0",
                           "pass a positive concentration, or None to fix tau_alpha")
            set_field(self, "tau_alpha_concentration", concentration)
        if self.tau_leaf_dof is not None:
            dof = finite_float(owner, "tau_leaf_dof", self.tau_leaf_dof)
            if dof <= 0:
                raise fail(owner, "tau_leaf_dof", f"{dof} <= 0", "pass positive degrees of freedom (e.g. 3), "
                           "or None for normal leaves")
            set_field(self, "tau_leaf_dof", dof)
            for name, off in (("warm_start", 0), ("rescale_leaves", False), ("change_probability", 0.0)):
                if getattr(self, name) != off:
                    raise fail(owner, "tau_leaf_dof", f"{dof} with {name}={getattr(self, name)!r}",
                               f"Student-t leaves do not support {name} yet: set {name}={off!r} or tau_leaf_dof=None")
        change = finite_float(owner, "change_probability", self.change_probability)
        if not 0.0 <= change < 1.0:
            raise fail(owner, "change_probability", f"{change} outside [0, 1)", "pass a share in [0, 1)")
        set_field(self, "change_probability", change)
        for name in ("probit_delta_max", "sigma_quantile"):
            value = finite_float(owner, name, getattr(self, name))
            if not 0.0 < value < 1.0:
                raise fail(owner, name, f"{value} outside (0, 1)", "pass a value in (0, 1)")
            set_field(self, name, value)

    @property
    def total_draws(self) -> int:
        return self.chains * self.draws
