"""The first tutorial end to end, timed: three rounds of a K = 3 adaptive experiment in Python.

Runs the ```python blocks of docs/tutorials/first-adaptive-experiment.md in
order in a temporary folder (the canonical run is ``--visitors 50000``:
rounds of 50k / 100k / 200k visitors, the last fit on 350k), prints what the
tutorial prints, then the wall time of the whole run and each round's fit.

    .venv/bin/python benchmarks/tutorial_time.py --visitors 50000
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorials" / "first-adaptive-experiment.md"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50_000, help="first round's visitors (then x2, x4)")
    opts = parser.parse_args()
    os.environ["PYTYCHE_TUTORIAL_VISITORS"] = str(opts.visitors)
    os.environ.pop("PYTYCHE_TUTORIAL_QUICK", None)
    import jax

    namespace: dict = {"__name__": "tutorial"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        previous = os.getcwd()
        os.chdir(folder)
        try:
            for number, block in enumerate(_BLOCK.findall(TUTORIAL.read_text()), start=1):
                exec(compile(block, f"{TUTORIAL.name} [block {number}]", "exec"), namespace)  # noqa: S102
        finally:
            os.chdir(previous)
    seconds = time.perf_counter() - started
    fits = [round_.seconds["fit"] for round_ in namespace["experiment"].history]
    print(f"\ntutorial, rounds of {namespace['ROUND_SIZES']} visitors, jax {jax.__version__} on "
          f"{jax.devices()[0].platform}: {seconds:.1f} s end to end; fits "
          + ", ".join(f"{s:.1f}" for s in fits) + " s")


if __name__ == "__main__":
    main()
