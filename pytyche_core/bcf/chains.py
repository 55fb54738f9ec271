"""Chains side by side: one chain per CPU core, or all chains ``vmap``-ed on one device.

XLA runs a CPU computation's scatters and gathers on one thread, so two
chains ``vmap``-ed into one computation take about 1.6x one chain's time on a
machine with cores to spare. JAX can instead present the host as several CPU
devices; the sampler then places each group of chains on its own device with
``shard_map`` and the groups run at the same time (docs/concepts/engine.md,
"Chains in parallel"). A fit on a GPU stays on that one GPU, its chains
``vmap``-ed there, where they fill the device together.

The CPU device count must be set before JAX starts its backends, so
``request_cpu_devices`` runs when this module is imported (``pytyche_core``
imports it first). It is a
request: when JAX is already running (imported and used before pytyche) or
the user set the count (``jax_num_cpu_devices`` or ``XLA_FLAGS``), that
setting stands and the chains share one device. ``PYTYCHE_CPU_DEVICES``
sets the count (1 turns this off).
"""

from __future__ import annotations

import os

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

#: Environment variable: how many CPU devices pytyche asks JAX for (default: the cores, at most 8).
CPU_DEVICES_ENV = "PYTYCHE_CPU_DEVICES"
_MAX_DEFAULT = 8
_AXIS = "chains"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def request_cpu_devices() -> int | None:
    """Ask JAX for one CPU device per core (or ``$PYTYCHE_CPU_DEVICES``); the count set, or None
    when the request cannot or should not change anything."""
    configured = os.environ.get(CPU_DEVICES_ENV)
    if configured is not None:
        try:
            wanted = int(configured)
        except ValueError:
            raise ValueError(f"{CPU_DEVICES_ENV}={configured!r} is not a whole number. Fix: set it to the "
                             "number of CPU devices for chains, or 1 to keep one device.") from None
        if wanted < 1:
            raise ValueError(f"{CPU_DEVICES_ENV}={wanted} < 1. Fix: set a count >= 1.")
    else:
        wanted = min(_cores(), _MAX_DEFAULT)
    from jax._src import xla_bridge  # the one place JAX says whether its backends have started

    user_set = (jax.config.jax_num_cpu_devices != -1
                or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""))
    if wanted <= 1 or user_set or xla_bridge.backends_are_initialized():
        return None
    jax.config.update("jax_num_cpu_devices", wanted)
    return wanted


def chain_mesh(n_chains: int) -> Mesh | None:
    """A mesh of CPU devices that splits ``n_chains`` evenly, or None for one device.

    Uses the largest device count that divides the chains (2 chains on 8 cores: 2 devices). Only
    on the CPU: a fit that runs on a GPU (the default backend, or ``jax.default_device``, as the
    pipeline's device resource sets it) stays on that one GPU, one fit per GPU."""
    chosen = jax.config.jax_default_device
    platform = getattr(chosen, "platform", chosen) if chosen is not None else jax.default_backend()
    if platform != "cpu":
        return None
    devices = jax.devices("cpu")
    groups = max((g for g in range(1, min(len(devices), n_chains) + 1) if n_chains % g == 0), default=1)
    if groups <= 1:
        return None
    return Mesh(devices[:groups], (_AXIS,))


def over_chains(fn, mesh: Mesh | None, batched: tuple[bool, ...]):
    """``fn`` of one chain, run for every chain: ``vmap`` on one device, ``shard_map`` of the ``vmap``
    over ``mesh`` otherwise. ``batched`` says which arguments carry the chain axis (first);
    every output does."""
    mapped = jax.vmap(fn, in_axes=tuple(0 if b else None for b in batched))
    if mesh is None:
        return mapped

    def on_device(*args):
        group = jax.tree.leaves([a for a, b in zip(args, batched, strict=True) if b])[0].shape[0]
        if group > 1:
            return mapped(*args)
        # One chain on this device: run it unbatched, so a lax.cond stays a branch (under vmap it
        # becomes a select that computes both sides).
        single = (jax.tree.map(lambda x: x[0], a) if b else a for a, b in zip(args, batched, strict=True))
        return jax.tree.map(lambda x: x[None], fn(*single))

    specs = tuple(PartitionSpec(_AXIS) if b else PartitionSpec() for b in batched)
    # check_vma off: the sweeps' scans carry values that start unsharded and become per-chain.
    return jax.shard_map(on_device, mesh=mesh, in_specs=specs, out_specs=PartitionSpec(_AXIS), check_vma=False)


def place(tree, mesh: Mesh | None, batched: bool):
    """Put ``tree`` where ``over_chains`` reads it: split by chain, or a copy on every device."""
    if mesh is None:
        return tree
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec(_AXIS) if batched else PartitionSpec()))


def constrain(tree, mesh: Mesh | None, batched: bool):
    """Inside a jit: make ``tree`` come out where ``place`` would put it."""
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(
        tree, NamedSharding(mesh, PartitionSpec(_AXIS) if batched else PartitionSpec()))


request_cpu_devices()

__all__ = ["CPU_DEVICES_ENV", "chain_mesh", "constrain", "over_chains", "place", "request_cpu_devices"]
