"""A fitted channel's draws as linear predictors per arm, for the training visitors or new ones.

A channel is one BCF (conversion: probit; order value: Gaussian on log
revenue; or a plain continuous outcome). Joint pooling fits one channel with
K-1 treatment columns; independent pooling fits one per treatment (control
plus that arm), each with its own prognostic forest. ``ChannelFits`` hides
the difference: it yields, per treatment j, the linear predictor under
control and under arm j, draw by draw, on the outcome's model scale.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..bcf.families import OutcomeFamily
from ..bcf.run import ChannelDraws
from ..bcf.stored import predict_forests


@dataclasses.dataclass(frozen=True, eq=False)
class ChannelFits:
    """One channel: a single joint fit, or one fit per treatment (independent pooling)."""

    fits: tuple[ChannelDraws, ...]
    family: OutcomeFamily

    @property
    def joint(self) -> bool:
        return len(self.fits) == 1

    @property
    def n_draws(self) -> int:
        chains, draws = self.fits[0].mu.shape[:2]
        return chains * draws

    def _source(self, j: int) -> tuple[ChannelDraws, int]:
        return (self.fits[0], j) if self.joint else (self.fits[j], 0)

    def predictors(self, j: int, *, training: tuple[np.ndarray, np.ndarray] | None = None,
                   rows: slice | None = None):
        """(control, arm j+1) linear predictors, each [S, n], on the outcome's model scale.

        ``training`` is None for the training visitors (the sampler's own
        fits); otherwise ``(mu, tau)`` predicted for new visitors by
        ``predict_new``. ``rows`` restricts to a block of visitors, so callers
        can bound the size of what they compute from the predictors.
        """
        fit, column = self._source(j)
        if training is None:
            mu, tau = fit.mu, fit.tau
        else:
            mu, tau = training
        if rows is not None:
            mu, tau = mu[:, :, rows], tau[:, :, rows]
        s = mu.shape[0] * mu.shape[1]
        base = mu.reshape(s, -1)
        return base, base + tau[..., column].reshape(s, -1)

    def predict_new(self, j: int, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mu, tau) of new binned visitors from the stored forests, outcome scale."""
        fit, _ = self._source(j)
        mu, tau = predict_forests(fit.forests, bins)
        return fit.centre + fit.scale * (fit.offset + mu), fit.scale * tau

    @property
    def sigma2(self) -> np.ndarray:
        """[S] noise variance per draw (joint fit, or the first treatment's fit)."""
        return self.fits[0].sigma2.reshape(-1)

    def sigma2_for(self, j: int) -> np.ndarray:
        fit, _ = self._source(j)
        return fit.sigma2.reshape(-1)

    def levels(self, j: int, *, training: tuple[np.ndarray, np.ndarray] | None = None,
               rows: slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Expected outcome per draw under control and under arm j+1, each [S, n], by the channel's family."""
        base, arm = self.predictors(j, training=training, rows=rows)
        sigma2 = self.sigma2_for(j)
        return self.family.mean(base, sigma2), self.family.mean(arm, sigma2)
