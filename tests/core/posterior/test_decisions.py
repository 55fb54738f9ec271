"""Decision math on lift draws: the best-arm rule, losses, the SHIP/CONTINUE/STOP rule, the value of one more round."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytyche_core.contracts import Decision, DecisionThresholds
from pytyche_core.posterior import decisions
from pytyche_core.posterior.allocation import thompson_weights
from pytyche_core.posterior.best_arm import best_arm, best_arm_frequencies


class TestBestArm:
    def test_control_wins_when_no_contrast_is_positive(self):
        assert best_arm(np.array([-1.0, -0.5])) == 0
        assert best_arm(np.array([0.0, 0.0])) == 0  # a tie at zero is not a win
        assert best_arm(np.array([0.0, -2.0])) == 0

    def test_argmax_plus_one_otherwise(self):
        assert best_arm(np.array([0.1, 0.3])) == 2
        assert best_arm(np.array([0.3, -0.1])) == 1

    def test_ties_between_treatments_go_to_the_lower_index(self):
        assert best_arm(np.array([0.2, 0.2, 0.1])) == 1

    def test_vectorised_over_leading_axes(self):
        deltas = np.array([[[-1.0, -1.0], [1.0, 2.0]], [[3.0, 2.0], [0.0, 1e-9]]])
        np.testing.assert_array_equal(best_arm(deltas), [[0, 2], [1, 2]])

    def test_frequencies_sum_to_one_and_include_control(self):
        draws = np.array([[-1.0, -1.0], [1.0, 0.0], [0.0, 2.0], [0.5, 0.4]])
        np.testing.assert_allclose(best_arm_frequencies(draws, 3), [0.25, 0.5, 0.25])

    @pytest.mark.parametrize("bad", [np.array([np.nan, 1.0]), np.zeros((3, 0))])
    def test_rejects_nan_and_empty(self, bad):
        with pytest.raises(ValueError, match="Fix"):
            best_arm(bad)


class TestThompsonWeights:
    @pytest.mark.parametrize("p", [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5], [0.5, 0.5]])
    @pytest.mark.parametrize("epsilon", [0.0, 0.1, 1.0])
    def test_floor_and_sum(self, p, epsilon):
        w = thompson_weights(np.array(p), epsilon)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert (w >= epsilon / len(p) - 1e-12).all()

    def test_epsilon_one_is_uniform(self):
        np.testing.assert_allclose(thompson_weights(np.array([1.0, 0.0, 0.0]), 1.0), [1 / 3] * 3)

    @pytest.mark.parametrize("epsilon", [-0.1, 1.5, math.nan, True])
    def test_bad_epsilon(self, epsilon):
        with pytest.raises(ValueError, match="epsilon"):
            thompson_weights(np.array([0.5, 0.5]), epsilon)


def _normal_draws(mean: float, sd: float, size: int = 20_000, seed: int = 0) -> np.ndarray:
    return mean + sd * np.random.default_rng(seed).standard_normal(size)


class TestEvidence:
    def test_losses_match_their_closed_form_for_a_normal_posterior(self):
        mu, s = 0.3, 1.0
        ev = decisions.evidence(_normal_draws(mu, s, 400_000), threshold=0.1)
        u = mu / s
        phi, big_phi = math.exp(-u * u / 2) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(u / math.sqrt(2)))
        # E[max(d, 0)] = mu Phi(u) + s phi(u);  E[max(-d, 0)] = E[max(d, 0)] - mu
        keep = mu * big_phi + s * phi
        assert ev.expected_loss_baseline == pytest.approx(keep, abs=0.005)
        assert ev.expected_loss_comparison == pytest.approx(keep - mu, abs=0.005)
        assert ev.probability_positive == pytest.approx(big_phi, abs=0.003)

    def test_probabilities_are_ordered(self):
        ev = decisions.evidence(_normal_draws(0.05, 0.2), threshold=0.1)
        assert ev.probability_better <= ev.probability_positive
        assert ev.probability_harmful <= 1 - ev.probability_positive

    @pytest.mark.parametrize("bad", [np.array([1.0]), np.array([[1.0, 2.0]]), np.array([1.0, np.inf])])
    def test_bad_draws(self, bad):
        with pytest.raises(ValueError, match="Fix"):
            decisions.evidence(bad, 0.0)


class TestDecisionRule:
    thresholds = DecisionThresholds(expected_loss_tolerance=0.01)

    def _decide(self, mean, sd):
        return decisions.decide(decisions.evidence(_normal_draws(mean, sd), 0.01), self.thresholds)

    def test_clear_win_ships(self):
        assert self._decide(0.2, 0.05) is Decision.SHIP

    def test_clear_harm_stops(self):
        assert self._decide(-0.2, 0.05) is Decision.STOP

    def test_noise_continues(self):
        assert self._decide(0.0, 0.2) is Decision.CONTINUE

    def test_sure_but_negligible_effect_is_futile(self):
        # Almost surely between -threshold and +threshold, mostly negative: nothing to gain.
        assert self._decide(-0.002, 0.002) is Decision.STOP

    def test_tiny_sure_win_ships(self):
        assert self._decide(0.005, 0.001) is Decision.SHIP


class TestValueOfOneMoreRound:
    @pytest.mark.parametrize(("mu", "s", "share", "expected"),
                             [(0.05, 0.1, 1.0, 0.00998), (-0.02, 0.05, 0.5, 0.00418)])
    def test_formula_matches_the_values_checked_in_math_md(self, mu, s, share, expected):
        assert decisions.value_of_one_more_round(mu, s, share) == pytest.approx(expected, abs=5e-5)

    @pytest.mark.parametrize(("mu", "s", "share"), [(0.05, 0.1, 1.0), (-0.02, 0.05, 0.5), (0.3, 0.1, 2.0),
                                                    (0.0, 1.0, 0.25)])
    def test_formula_matches_a_preposterior_monte_carlo(self, mu, s, share):
        """Simulate the decision problem directly: truth from the posterior, one round of data, update, decide.

        The round's estimate has variance s^2 / share (information grows with
        visitors); the normal-normal update gives the new posterior mean; the
        value is E[max(new mean, 0)] - max(mu, 0) (linear loss).
        """
        rng = np.random.default_rng(7)
        m = 1_000_000
        truth = mu + s * rng.standard_normal(m)
        noise_var = s * s / share
        estimate = truth + math.sqrt(noise_var) * rng.standard_normal(m)
        weight = (1 / noise_var) / (1 / (s * s) + 1 / noise_var)
        new_mean = (1 - weight) * mu + weight * estimate
        simulated = np.maximum(new_mean, 0).mean() - max(mu, 0)
        standard_error = np.maximum(new_mean, 0).std() / math.sqrt(m)
        formula = decisions.value_of_one_more_round(mu, s, share)
        assert abs(formula - simulated) < 4 * standard_error + 1e-6

    @pytest.mark.parametrize(("mu", "s", "share"), [(0.05, 0.1, 1.0), (-0.02, 0.05, 0.5)])
    def test_simulation_on_draws_agrees_with_the_formula_for_normal_draws(self, mu, s, share):
        draws = _normal_draws(mu, s, 4000, seed=3)
        on_draws = decisions.value_of_one_more_round_from_draws(draws, share, n_simulations=20_000, seed=1)
        formula = decisions.value_of_one_more_round(float(draws.mean()), float(draws.std(ddof=1)), share)
        assert on_draws == pytest.approx(formula, rel=0.15)

    def test_value_shrinks_as_the_decision_becomes_clear(self):
        values = [decisions.value_of_one_more_round(mu, 0.1, 1.0) for mu in (0.0, 0.1, 0.3, 1.0)]
        assert values == sorted(values, reverse=True)
        assert values[-1] < 1e-6

    def test_zero_sd_is_worth_nothing_and_bad_share_raises(self):
        assert decisions.value_of_one_more_round(0.1, 0.0, 1.0) == 0.0
        with pytest.raises(ValueError, match="round_share"):
            decisions.value_of_one_more_round(0.1, 0.1, 0.0)
