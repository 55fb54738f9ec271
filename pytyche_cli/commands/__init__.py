"""The ``pytyche`` commands, one module each; ``COMMANDS`` is the order ``pytyche --help`` lists them."""

from . import analyze, fit, plan, power, report, run, simulate, ui

COMMANDS = (simulate.simulate, fit.fit, analyze.analyze, plan.plan, run.run, report.report, power.power, ui.ui)

__all__ = ["COMMANDS"]
