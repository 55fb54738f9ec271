"""``pytyche report``: one self-contained HTML file answering what a stored experiment found.

The report is ``pytyche_core.report.write_report`` (which writes atomically);
this command checks the paths first and reports where the file went.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CliFailure
from ..files import check_target
from ..options import store_option, store_path
from ..output import print_json
from .base import command
from .fit import split_names

REPORT_SUFFIXES = (".html", ".htm")


def report_writer():
    """``write_report``, imported when the command runs; a clear failure when this install lacks it."""
    try:
        from pytyche_core.report import write_report
    except ImportError as error:
        raise CliFailure(f"this install has no HTML report (pytyche_core.report.write_report: {error}). "
                         "Fix: update pytyche to a version with reports.") from error
    return write_report


@command("report", short_help="Write a stored experiment's HTML report.")
@click.argument("experiment_id", metavar="EXPERIMENT")
@store_option
@click.option("--round", "round_key", default=None, help="The round to report (default: the latest).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="The HTML file to write (default: reports/<EXPERIMENT>.html beside the store).")
@click.option("--assignable", multiple=True,
              help="Features the storefront can route on at assignment time, to check each segment against "
                   "(comma-separated or repeated).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
@click.option("--json", "as_json", is_flag=True, help="Print where the report went as JSON.")
def report(experiment_id: str, store: str | None, round_key: str | None, out: str | None,
           assignable: tuple[str, ...], overwrite: bool, as_json: bool) -> None:
    """Write EXPERIMENT's report from the store: did it work, by how much, how sure, where it differs, what next.

    One HTML file with its figures inlined, readable offline. The report is
    built in full before anything is written, so a refused experiment or
    round leaves no file.
    """
    store = store_path(store)
    if not Path(store).is_file():
        raise CliFailure(f"store {store!r} does not exist. Fix: pass --store PATH, or fill the default store "
                         "with `pytyche run`.")
    target = None if out is None else check_target(out, overwrite=overwrite, suffixes=REPORT_SUFFIXES, what="--out")
    write_report = report_writer()
    written = write_report(store, experiment_id, target, round_key=round_key,
                           assignable_attributes=split_names(assignable))
    if as_json:
        print_json({"report": str(written), "experiment_id": experiment_id, "store": store, "round_key": round_key})
    else:
        click.echo(f"Report for {experiment_id} -> {written}")


__all__ = ["REPORT_SUFFIXES", "report", "report_writer"]
