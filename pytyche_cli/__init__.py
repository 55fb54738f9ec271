"""The ``pytyche`` command line: simulate, fit, analyze, plan, run, report, power, ui.

A thin shell over ``pytyche_core`` (and, for ``run`` and ``ui``, the Dagster
code in ``pytyche_pipelines``, imported only by those commands). Commands
parse options, call the library, and print its answers as text or
``--json``; every statistic comes from the library. The reference is
``docs/concepts/cli.md``.
"""
