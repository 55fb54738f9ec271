"""Saving a fitted BCF result to one file and loading it back, without pickle.

A result file is a compressed ``.npz`` (a zip of ``.npy`` arrays) read with
``allow_pickle=False``: plain numeric arrays plus one JSON document
(``meta``), so loading a file never runs code from it. It holds

- ``meta``: the format name and version, the result kind, the observed
  data's experiment id / metric / variant names, the binning spec (feature
  names, kinds, categories), the design's propensity fill, every
  ``BCFConfig`` field, ``FitInfo``, and per channel fit its scaling
  (centre / scale / offset), tree depth and seconds;
- ``visitors.<i>``: variant i's visitor frame as Parquet bytes (dtypes,
  categoricals and index survive);
- ``design.*``: ``tau_allowed`` [p], ``arm`` [n], numeric bin edges;
- ``<channel>.<fit>.*``: the stored forests (``StoredForests.arrays()``),
  ``sigma2`` [chains, draws], ``acceptance`` [blocks, 2] and the sampled prior settings
  ``mu_leaf_var`` [chains, draws], ``tau_leaf_var`` [chains, draws, arm columns - 1] and
  ``tau_alpha`` [chains, draws];
- ``checksum``: SHA-256 over every other entry's name, dtype, shape and
  bytes, so a file edited after saving is refused rather than half-trusted.

Per-visitor draws (mu, tau: chains x draws x n) are the bulk of a result
and are not stored: ``read_result_file`` re-bins the training visitors with the
stored spec and recomputes them from the forests with ``predict_forests``,
equal to the sampler's own running sums up to float32 rounding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..bcf.binning import BinnedCovariates, FeatureBins, apply_bins
from ..bcf.config import BCFConfig
from ..bcf.design import ModelDesign, covariate_frame
from ..bcf.families import family_named
from ..bcf.models import Acceptance
from ..bcf.run import ChannelDraws, PriorDraws
from ..bcf.stored import StoredForests, predict_forests
from ..contracts import ContractViolation, ObservedExperimentData, VariantData
from .channels import ChannelFits
from .fit_info import FitInfo

if TYPE_CHECKING:  # results import this module; this one reads results' attributes only
    from .results import BCFResult

FORMAT = "pytyche-bcf-result"
#: Bump on any change a reader of the previous version would misread (2: the checksum entry;
#: 3: the sampled prior settings per draw).
FORMAT_VERSION = 3

_CHANNELS = {"hurdle": ("conversion", "order_value"), "binary": ("conversion",), "continuous": ("outcome",)}
_FOREST_FIELDS = ("mu_var", "mu_cut", "mu_leaf", "tau_var", "tau_cut", "tau_leaf")


class ResultFileError(ValueError):
    """A file that is not a readable pytyche result (wrong format or version, damaged, edited)."""


@dataclasses.dataclass(frozen=True, eq=False)
class StoredResult:
    """What a result file holds, ready to become a result (``results.load_result`` builds it)."""

    kind: str
    observed: ObservedExperimentData
    config: BCFConfig
    design: ModelDesign
    info: FitInfo
    channels: dict[str, ChannelFits]
    outcome_column: str | None


def _version() -> str:
    from .. import __version__

    return __version__


def _bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _as_array(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint8)


def _bins_digest(bins: np.ndarray) -> str:
    """SHA-256 of the binned covariates: load checks that re-binning reproduces them exactly."""
    return hashlib.sha256(np.ascontiguousarray(bins, dtype=np.uint8).tobytes()).hexdigest()


def _checksum(arrays) -> str:
    """SHA-256 over every entry but ``checksum``: name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(n for n in arrays if n != "checksum"):
        array = np.asarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _pack(result: BCFResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta JSON document, arrays) describing ``result`` completely, draws excepted."""
    observed, design = result.observed, result.design
    arrays: dict[str, np.ndarray] = {}
    for i, variant in enumerate(observed.variants):
        arrays[f"visitors.{i}"] = _as_array(_parquet(variant.visitors))
    arrays["design.tau_allowed"] = np.asarray(design.tau_allowed, dtype=bool)
    arrays["design.arm"] = np.asarray(design.arm, dtype=np.int32)
    features = []
    for j, spec in enumerate(design.binned.features):
        features.append({"name": spec.name, "kind": spec.kind, "categories": list(spec.categories)})
        if spec.kind == "numeric":
            arrays[f"design.edges.{j}"] = np.asarray(spec.edges, dtype=np.float64)
    channels = []
    for name, fits in result.channel_fits.items():
        entries = []
        for j, fit in enumerate(fits.fits):
            for field, values in fit.forests.arrays().items():
                arrays[f"{name}.{j}.{field}"] = values
            arrays[f"{name}.{j}.sigma2"] = np.asarray(fit.sigma2, dtype=np.float32)
            arrays[f"{name}.{j}.acceptance"] = np.stack([fit.acceptance.mu, fit.acceptance.tau], axis=1
                                                        ).astype(np.float32)  # [blocks, 2]: mu, tau
            for field, values in fit.priors._asdict().items():
                arrays[f"{name}.{j}.{field}"] = np.asarray(values, dtype=np.float32)
            entries.append({"centre": float(fit.centre), "scale": float(fit.scale), "offset": float(fit.offset),
                            "seconds": float(fit.seconds), "depth": int(fit.forests.depth)})
        channels.append({"name": name, "family": fits.family.name, "fits": entries})
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pytyche_version": _version(),
        "kind": result.model,
        "outcome_column": getattr(result, "outcome_column", None),
        "observed": {"experiment_id": observed.experiment_id, "metric": observed.metric,
                     "variants": [{"name": v.name, "n_visitors": v.n_visitors} for v in observed.variants]},
        "design": {"arm_names": list(design.arm_names), "features": features,
                   "propensity_fill": {k: float(v) for k, v in design.propensity_fill.items()},
                   "bins_sha256": _bins_digest(design.binned.bins)},
        "config": dataclasses.asdict(result.config),
        "info": dataclasses.asdict(result.info),
        "channels": channels,
    }
    return meta, arrays


def save_result(result: BCFResult, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``result`` to ``path`` (one compressed ``.npz``); returns the path.

    Raises FileExistsError if ``path`` exists and ``overwrite`` is False. The
    file is written to a temporary name beside ``path`` and moved into place,
    so a failure never leaves a half-written result under ``path``.
    """
    if getattr(result, "model", None) not in _CHANNELS or not hasattr(result, "channel_fits"):
        raise TypeError(f"save_result: expected a fitted BCF result, got {type(result).__name__}")
    if result.is_calibrated:
        raise ValueError("save_result: this result carries a calibration, which the file format does not "
                         "store. Fix: save the uncalibrated result and apply the calibration after loading.")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists. Fix: pass overwrite=True to replace it, or choose "
                              "another path.")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory. Fix: pass a file path such as {path / 'result.npz'}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {str(path.parent)!r} does not exist, so {path.name!r} cannot be written "
                                "there. Fix: create the folder first (Path(folder).mkdir(parents=True)).")
    meta, arrays = _pack(result)
    arrays["meta"] = _as_array(json.dumps(meta, sort_keys=True).encode("utf-8"))
    arrays["checksum"] = _as_array(_checksum(arrays).encode("ascii"))
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez_compressed(stream, **arrays)
    return path


# -- loading ------------------------------------------------------------------------------

def _damaged(path: Path, problem: str) -> ResultFileError:
    return ResultFileError(f"{path}: {problem}. The file is damaged or was not written by "
                           "BCFResult.save. Fix: save the result again from the fitted object (or refit).")


def _read_meta(path: Path, archive) -> dict[str, Any]:
    if "meta" not in archive.files:
        raise ResultFileError(f"{path}: an .npz without pytyche's 'meta' entry is not a pytyche result. "
                              "Fix: pass a file written by result.save(path).")
    meta = json.loads(bytes(archive["meta"]).decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ResultFileError(f"{path}: format {meta.get('format') if isinstance(meta, dict) else None!r} "
                              f"is not {FORMAT!r}. Fix: pass a file written by result.save(path).")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        writer = meta.get("pytyche_version", "unknown")
        newer = isinstance(version, int) and version > FORMAT_VERSION
        fix = ("upgrade pytyche to a version that reads it" if newer else
               f"load it with pytyche {writer} (which wrote it) and refit, or refit from the data")
        raise ResultFileError(f"{path}: result format version {version!r} (written by pytyche {writer}); this "
                              f"pytyche {_version()} reads version {FORMAT_VERSION} only. Fix: {fix}.")
    return meta


def _verify_checksum(path: Path, archive) -> None:
    if "checksum" not in archive.files:
        raise _damaged(path, "it has no checksum entry")
    stored = bytes(archive["checksum"]).decode("ascii")
    entries = {name: archive[name] for name in archive.files}
    if _checksum(entries) != stored:
        raise _damaged(path, "its contents do not match the checksum written with them (edited after saving?)")


def _observed(meta: dict[str, Any], archive) -> ObservedExperimentData:
    variants = []
    for i, entry in enumerate(meta["observed"]["variants"]):
        frame = pd.read_parquet(io.BytesIO(bytes(archive[f"visitors.{i}"])))
        if len(frame) != entry["n_visitors"]:
            raise ValueError(f"variant {entry['name']!r} has {len(frame)} rows, the file says {entry['n_visitors']}")
        variants.append(VariantData.from_visitors(entry["name"], frame))
    return ObservedExperimentData(meta["observed"]["experiment_id"], meta["observed"]["metric"], tuple(variants))


def _design(path: Path, meta: dict[str, Any], archive, observed: ObservedExperimentData) -> ModelDesign:
    spec = meta["design"]
    features = tuple(
        FeatureBins(f["name"], f["kind"],
                    edges=tuple(float(e) for e in archive[f"design.edges.{j}"]) if f["kind"] == "numeric" else (),
                    categories=tuple(str(c) for c in f["categories"]))
        for j, f in enumerate(spec["features"]))
    fill = {str(k): float(v) for k, v in spec["propensity_fill"].items()}
    names = tuple(f.name for f in features)
    expected = observed.feature_names + tuple(fill)
    if names != expected:
        raise _damaged(path, f"binned covariates {list(names)} do not match the stored visitors' features "
                             f"and propensities {list(expected)}")
    frame = covariate_frame(observed.visitors(), observed.feature_names, tuple(fill))
    bins = apply_bins(frame[list(names)], features)
    if _bins_digest(bins) != spec["bins_sha256"]:
        raise _damaged(path, "re-binning the stored visitors does not reproduce the bins the forests were "
                             "fit on")
    arm = np.asarray(archive["design.arm"], dtype=np.int32)
    if not np.array_equal(arm, observed.arm_index()):
        raise _damaged(path, "the stored arm of each visitor disagrees with the stored variants")
    return ModelDesign(binned=BinnedCovariates(bins=bins, features=features),
                       tau_allowed=np.asarray(archive["design.tau_allowed"], dtype=bool), arm=arm,
                       arm_names=tuple(spec["arm_names"]), propensity_fill=fill)


def _channel(path: Path, entry: dict[str, Any], archive, bins: np.ndarray, config: BCFConfig,
             n_arms: int, pooling: str) -> ChannelFits:
    """Rebuild one channel, recomputing its per-visitor draws from the stored forests."""
    name = entry["name"]
    expected_fits = 1 if pooling == "joint" else n_arms - 1
    if len(entry["fits"]) != expected_fits:
        raise _damaged(path, f"channel {name!r} has {len(entry['fits'])} fits, {pooling} pooling over "
                             f"{n_arms} arms needs {expected_fits}")
    fits = []
    for j, scaling in enumerate(entry["fits"]):
        prefix = f"{name}.{j}."
        forests = StoredForests(**{f: archive[prefix + f] for f in _FOREST_FIELDS}, depth=int(scaling["depth"]))
        shape = (config.chains, config.draws)
        width = n_arms if pooling == "joint" else 2
        if forests.shape != shape or forests.tau_leaf.shape[-1] != width:
            raise _damaged(path, f"channel {name!r} fit {j} stores forests of shape {forests.tau_leaf.shape}, "
                                 f"expected (chains, draws) = {shape} and {width} arm columns")
        sigma2 = np.asarray(archive[prefix + "sigma2"], dtype=np.float32)
        if sigma2.shape != shape:
            raise _damaged(path, f"channel {name!r} fit {j}: sigma2 has shape {sigma2.shape}, expected {shape}")
        priors = PriorDraws(*(np.asarray(archive[prefix + field], dtype=np.float32)
                              for field in PriorDraws._fields))
        for field, values, extra in zip(PriorDraws._fields, priors, ((), (width - 1,), ()), strict=True):
            if values.shape != (*shape, *extra):
                raise _damaged(path, f"channel {name!r} fit {j}: {field} has shape {values.shape}, "
                                     f"expected {(*shape, *extra)}")
        centre, scale, offset = float(scaling["centre"]), float(scaling["scale"]), float(scaling["offset"])
        mu, tau = predict_forests(forests, bins)  # model scale, no offset
        fits.append(ChannelDraws(
            mu=(centre + scale * (offset + mu)).astype(np.float32), tau=(scale * tau).astype(np.float32),
            sigma2=sigma2, forests=forests, centre=centre, scale=scale, offset=offset,
            acceptance=Acceptance(*np.asarray(archive[prefix + "acceptance"], dtype=np.float32).T),
            seconds=float(scaling["seconds"]), priors=priors))
    try:
        family = family_named(entry["family"])
    except KeyError as err:
        raise _damaged(path, f"channel {name!r} names an unknown outcome family ({err.args[0]})") from err
    return ChannelFits(tuple(fits), family)


def _unpack(path: Path, meta: dict[str, Any], archive) -> StoredResult:
    kind = meta["kind"]
    if kind not in _CHANNELS:
        raise _damaged(path, f"unknown result kind {kind!r}")
    try:
        observed = _observed(meta, archive)
    except ContractViolation as err:
        raise _damaged(path, f"the stored visitors fail validation ({err})") from err
    config = BCFConfig(**meta["config"])
    info = FitInfo(**meta["info"])
    design = _design(path, meta, archive, observed)
    entries = {entry["name"]: entry for entry in meta["channels"]}
    if tuple(entries) != _CHANNELS[kind]:
        raise _damaged(path, f"a {kind} result needs channels {list(_CHANNELS[kind])}, the file has "
                             f"{list(entries)}")
    channels = {name: _channel(path, entry, archive, design.binned.bins, config, design.n_arms, info.pooling)
                for name, entry in entries.items()}
    return StoredResult(kind, observed, config, design, info, channels, meta["outcome_column"])


def read_result_file(path: str | os.PathLike) -> StoredResult:
    """What a file written by ``save_result`` holds: the kind, data, config, info and channel forests.

    The training visitors' draws are recomputed from the stored forests.
    Raises FileNotFoundError for a missing path and ``ResultFileError`` (a
    ValueError) for a file of another format or version, or a damaged one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such result file. Fix: pass the path given to result.save.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        # np.load falls back to unpickling unknown bytes; with pickle off it raises instead.
        raise _damaged(path, f"not a readable .npz archive ({err})") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _damaged(path, "holds a bare array, not a result archive")
    with archive:
        try:
            meta = _read_meta(path, archive)
            _verify_checksum(path, archive)
            return _unpack(path, meta, archive)
        except ResultFileError:
            raise
        except (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
                UnicodeDecodeError) as err:
            raise _damaged(path, f"could not be read ({type(err).__name__}: {err})") from err


__all__ = ["FORMAT", "FORMAT_VERSION", "ResultFileError", "StoredResult", "read_result_file", "save_result"]
