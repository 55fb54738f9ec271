"""The command class every ``pytyche`` command uses: it records its name for one-line errors."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..options import debug_option

#: ``Context.meta`` key of the running command's path ("pytyche fit"), read when an error is reported.
COMMAND_KEY = "pytyche.command"


class PytycheCommand(click.Command):
    def invoke(self, ctx: click.Context):
        ctx.meta[COMMAND_KEY] = ctx.command_path
        return super().invoke(ctx)


def command(name: str, **settings) -> Callable[[Callable], click.Command]:
    """``@click.command`` with our class and the shared ``--debug`` flag."""

    def build(function: Callable) -> click.Command:
        built = click.command(name, cls=PytycheCommand, **settings)(debug_option(function))
        built.params.append(built.params.pop(0))  # --debug last in --help, after the command's own options
        return built

    return build


__all__ = ["COMMAND_KEY", "PytycheCommand", "command"]
