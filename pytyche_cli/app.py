"""The ``pytyche`` group: its commands, and the one place errors become one line and an exit code.

``PytycheGroup.main`` replaces click's standalone handling: a usage error,
a refused input or a bug each print exactly one line on stderr (``pytyche
<command>: error: <what>. Fix: <how>``) and exit with the code of its kind
(``errors``); ``--debug`` (or PYTYCHE_DEBUG=1) prints the traceback too.
"""

from __future__ import annotations

import sys
import traceback

import click

from . import errors
from .commands import COMMANDS
from .commands.base import COMMAND_KEY
from .options import DEBUG_KEY, debug_option


def _usage_fix(error: click.UsageError, prog: str) -> str:
    path = error.ctx.command_path if error.ctx is not None else prog
    return f"Fix: see `{path} --help`."


def _report(prog: str, message: str) -> None:
    click.echo(f"{prog}: error: {errors.one_line(message)}", err=True)


class PytycheGroup(click.Group):
    """A click group whose ``main`` turns every failure into one line and a distinct exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the order they were added: the order of a session

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = sys.argv[1:] if args is None else list(args)
        prog = prog_name or "pytyche"
        # Tab completion (_PYTYCHE_COMPLETE=bash_source etc.): click answers and exits when asked.
        self._main_shell_completion(extra, prog, complete_var)
        code = self._run(args, prog, extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args: list[str], prog: str, extra: dict) -> int:
        ctx = None
        try:
            with self.make_context(prog, args, **extra) as ctx:
                self.invoke(ctx)
            return errors.EXIT_OK
        except click.exceptions.Exit as done:  # --help, --version
            return done.exit_code
        except click.exceptions.Abort:
            _report(prog, "aborted")
            return errors.EXIT_INTERRUPTED
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else prog
            message = errors.one_line(error.format_message())
            _report(where, message if "Fix:" in message else f"{errors.sentence(message)} {_usage_fix(error, prog)}")
            return errors.EXIT_USAGE
        except click.ClickException as error:  # CliFailure and click's own file errors
            _report(self._where(ctx, prog), errors.with_fix(error.format_message(), error))
            return error.exit_code
        except KeyboardInterrupt:
            _report(self._where(ctx, prog), "interrupted")
            return errors.EXIT_INTERRUPTED
        except Exception as error:  # noqa: BLE001 - the one place every other error is reported
            debug = self._debug(ctx)
            if debug:
                traceback.print_exc()
            where = self._where(ctx, prog)
            if errors.is_expected(error):
                _report(where, errors.with_fix(errors.describe(error), error))
                return errors.EXIT_FAILURE
            hint = "report it" if debug else "run again with --debug for the traceback and report it"
            _report(where, f"unexpected {type(error).__name__}: {errors.sentence(errors.describe(error))} "
                           f"Fix: this is a bug in pytyche; {hint} with the command you ran.")
            return errors.EXIT_INTERNAL

    @staticmethod
    def _debug(ctx: click.Context | None) -> bool:
        return bool(ctx is not None and ctx.meta.get(DEBUG_KEY))

    @staticmethod
    def _where(ctx: click.Context | None, prog: str) -> str:
        if ctx is None:
            return prog
        return ctx.meta.get(COMMAND_KEY, prog)


@click.group("pytyche", cls=PytycheGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@debug_option
def cli() -> None:
    """pytyche: batched, sequential e-commerce experiments with a hurdle Bayesian Causal Forest.

    \b
    A typical session:
      pytyche simulate reversal -k 3 --visitors 5000 --out data.parquet
      pytyche fit data.parquet --out fit.npz
      pytyche analyze fit.npz            # effects, P(best), SHIP/CONTINUE/STOP, segments
      pytyche plan fit.npz               # the next round's cells and routes, in words
      pytyche power --lift 0.05 --from-data data.parquet   # visitors needed per arm
      pytyche run                        # rounds through the Dagster pipeline into the store
      pytyche report EXPERIMENT --out report.html
      pytyche ui                         # the Dagster UI on 127.0.0.1:3000

    Exit codes: 0 done, 1 input refused or job failed, 2 wrong command line, 3 a bug.
    Reference: docs/concepts/cli.md.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """The console entry point (``pytyche``)."""
    return cli.main(args=argv, prog_name="pytyche", standalone_mode=False)


__all__ = ["PytycheGroup", "cli", "main"]
