"""``pytyche power``: visitors needed per arm (or the lift a size detects), for everyone or a segment.

The arithmetic is ``pytyche_core.experiment.power`` (docs/concepts/power.md);
this command gathers its inputs, from options or estimated from a data
file's control arm, and prints the answer.
"""

from __future__ import annotations

import click

from ..errors import CliUsageError
from ..output import number, print_json, table
from .base import command
from .sources import load_observed


def baseline_from_data(data: str, experiment_id: str | None, metric: str | None) -> dict[str, float]:
    """Conversion, order value and its spread, estimated from the control arm of ``data``."""
    from pytyche_core.experiment.power import baseline_from_revenue

    observed = load_observed(data, experiment_id=experiment_id, metric=metric, control=None, rounds=())
    control = observed.variants[0].visitors
    return baseline_from_revenue(control["revenue"].to_numpy(dtype=float))


def _figures(answer: dict) -> list[list[str]]:
    rows = [["baseline revenue per visitor", number(answer["rpv_baseline"])],
            ["lift (relative)", f"{answer['relative_lift']:+.2%}"],
            ["lift (per visitor)", f"{answer['absolute_lift']:+.4f}"],
            ["visitors per arm", f"{answer['visitors_per_arm']:,}"],
            ["visitors in all", f"{answer['total_visitors']:,}"],
            ["site visitors (segment share applied)", f"{answer['traffic_visitors']:,}"],
            ["power of each contrast", f"{answer['achieved_power']:.1%}"],
            ["level of each contrast", f"{answer['alpha_per_contrast']:.4g}"]]
    if "weeks_needed" in answer:
        rows.append(["weeks needed", f"{answer['weeks_needed']:.1f}"])
        reach = answer["detectable_in_max_weeks"]
        rows.append([f"lift detectable in {answer['max_weeks']:g} weeks", "-" if reach is None else f"{reach:+.2%}"])
    return rows


@command("power", short_help="Visitors needed per arm to detect a revenue-per-visitor lift.")
@click.option("--lift", type=float, default=None,
              help="The lift to detect: relative (0.05 = +5%), or per visitor with --absolute.")
@click.option("--visitors-per-arm", type=click.IntRange(min=2), default=None,
              help="Instead of --lift: the smallest lift this many visitors per arm detect.")
@click.option("--absolute", is_flag=True, help="--lift is in currency per visitor, not a fraction.")
@click.option("--baseline-conversion", type=float, default=None, help="Control's conversion rate, e.g. 0.03.")
@click.option("--order-value-mean", type=float, default=None, help="Converters' average order value.")
@click.option("--order-value-cv", type=float, default=None, help="Order values' sd / mean.")
@click.option("--order-value-log-sd", type=float, default=None, help="Instead of --order-value-cv: log-normal sigma.")
@click.option("--from-data", "data", type=click.Path(dir_okay=False), default=None,
              help="Estimate the three baseline inputs from this file's or store's control arm "
                   "(options given explicitly win).")
@click.option("--experiment-id", default=None, help="With --from-data: the experiment (if it holds several).")
@click.option("-k", "--arms", type=click.IntRange(min=2), default=2, show_default=True, help="Arms, control included.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Two-sided level, over all contrasts.")
@click.option("--power", "target_power", type=float, default=0.8, show_default=True)
@click.option("--lift-on", type=click.Choice(["conversion", "order_value", "both"]), default="conversion",
              show_default=True, help="What the lift acts on.")
@click.option("--multiplicity", type=click.Choice(["bonferroni", "none"]), default="bonferroni", show_default=True)
@click.option("--segment-share", type=float, default=1.0, show_default=True,
              help="The experiment's population as a fraction of traffic (a segment).")
@click.option("--weekly-visitors", type=float, default=None,
              help="Site visitors per week: also answer how many weeks it takes (needs --lift).")
@click.option("--max-weeks", type=float, default=4.0, show_default=True, help="With --weekly-visitors.")
@click.option("--json", "as_json", is_flag=True, help="Print every input and figure as JSON.")
def power(lift, visitors_per_arm, absolute, baseline_conversion, order_value_mean, order_value_cv,
          order_value_log_sd, data, experiment_id, arms, alpha, target_power, lift_on, multiplicity,
          segment_share, weekly_visitors, max_weeks, as_json) -> None:
    """How many visitors each arm needs to detect a revenue-per-visitor lift (or what a size detects).

    Revenue per visitor is zero-inflated, so its variance comes from the
    conversion rate and the order values' mean and spread. Give those, or
    --from-data to estimate them from a control arm.
    """
    from pytyche_core.experiment.power import detectable_lift, segment_check, visitors_needed

    if (lift is None) == (visitors_per_arm is None):
        raise CliUsageError("pass exactly one of --lift (visitors needed) and --visitors-per-arm (detectable "
                            "lift). Fix: e.g. `pytyche power --lift 0.05 ...`.")
    if weekly_visitors is not None and lift is None:
        raise CliUsageError("--weekly-visitors answers how long a --lift takes. Fix: pass --lift with it.")
    given = {"baseline_conversion": baseline_conversion, "order_value_mean": order_value_mean,
             "order_value_cv": order_value_cv, "order_value_log_sd": order_value_log_sd}
    if data is not None:
        estimated = baseline_from_data(data, experiment_id, None)
        if order_value_log_sd is not None:  # one spread only: the explicit one
            estimated.pop("order_value_cv")
        given = {**estimated, **{k: v for k, v in given.items() if v is not None}}
    missing = [f"--{k.replace('_', '-')}" for k in ("baseline_conversion", "order_value_mean") if given.get(k) is None]
    if given.get("order_value_cv") is None and given.get("order_value_log_sd") is None:
        missing.append("--order-value-cv (or --order-value-log-sd)")
    if missing:
        raise CliUsageError(f"missing {', '.join(missing)}. Fix: pass them, or --from-data FILE to estimate them.")
    settings = dict(arms=arms, alpha=alpha, power=target_power, lift_on=lift_on, multiplicity=multiplicity,
                    segment_share=segment_share, **given)
    if weekly_visitors is not None:
        check = segment_check(lift, weekly_visitors=weekly_visitors, max_weeks=max_weeks, relative=not absolute,
                              **settings)
        answer, summary = check.to_dict(), f"{check.analysis.summary}\n{check.summary}"
    elif lift is not None:
        analysis = visitors_needed(lift, relative=not absolute, **settings)
        answer, summary = analysis.to_dict(), analysis.summary
    else:
        analysis = detectable_lift(visitors_per_arm, relative=not absolute, **settings)
        answer, summary = analysis.to_dict(), analysis.summary
    if as_json:
        print_json(answer)
        return
    click.echo(summary)
    click.echo(table(["figure", "value"], _figures(answer)))


__all__ = ["baseline_from_data", "power"]
