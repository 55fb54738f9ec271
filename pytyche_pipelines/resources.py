"""Resources: where the store lives, and which device fits run on."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

DEFAULT_DUCKDB = Path(__file__).resolve().parent.parent / "data" / "pytyche.duckdb"


def default_duckdb_path() -> str:
    return os.environ.get("PYTYCHE_DUCKDB", str(DEFAULT_DUCKDB))


class DuckDBStore(dg.ConfigurableResource):
    """The DuckDB file every asset reads and writes (one writer at a time)."""

    path: str = default_duckdb_path()

    def resolved_path(self) -> str:
        path = Path(self.path).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)


class JaxDevice(dg.ConfigurableResource):
    """Where fits run: ``"auto"`` (the first GPU JAX sees, else the CPU), ``"gpu"`` or ``"cpu"``.

    The device actually used is recorded in the fit's metadata. ``"gpu"`` on
    a machine where JAX sees none fails with the fix, rather than silently
    running on the CPU.
    """

    device: str = "auto"

    def selected(self):
        import jax

        if self.device not in ("auto", "gpu", "cpu"):
            raise dg.Failure(f"device={self.device!r}. Fix: use 'auto', 'gpu' or 'cpu'.")
        if self.device == "cpu":
            return jax.devices("cpu")[0]
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:  # no GPU backend installed
            gpus = []
        if self.device == "gpu" and not gpus:
            raise dg.Failure("device='gpu' but JAX sees no GPU. Fix: install the gpu extra "
                             "(pip install 'tyche-lab[gpu]') on a machine with one, or use device='auto'.")
        return gpus[0] if gpus else jax.devices("cpu")[0]

    @contextlib.contextmanager
    def placed(self) -> Iterator[str]:
        """Run the block with JAX's default device set; yields the device's name (e.g. ``cpu:0``)."""
        import jax

        chosen = self.selected()
        with jax.default_device(chosen):
            yield f"{chosen.platform}:{chosen.id}"
