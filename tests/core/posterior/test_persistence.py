"""Saving a fitted result and loading it back: same data, config and draws; bad files fail clearly."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

import pytyche_core as pt
from pytyche_core.posterior import FORMAT_VERSION, ResultFileError
from pytyche_core.posterior.persistence import _checksum
from tests.core.posterior.small_fits import binary_fit, hurdle_fit


@pytest.fixture(scope="module")
def hurdle():
    return hurdle_fit()


@pytest.fixture(scope="module")
def saved(hurdle, tmp_path_factory):
    return hurdle.save(tmp_path_factory.mktemp("saved") / "hurdle.npz")


@pytest.fixture(scope="module")
def loaded(saved):
    return pt.load_result(saved)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to float32 rounding of the per-visitor sums over trees."""
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(np.abs(a).max()))


def test_round_trip_keeps_observed_data_exactly(hurdle, loaded):
    assert type(loaded) is pt.HurdleBCFResult
    before, after = hurdle.observed, loaded.observed
    assert (after.experiment_id, after.metric, after.arm_names) == (before.experiment_id, before.metric,
                                                                     before.arm_names)
    for a, b in zip(before.variants, after.variants, strict=True):
        # Dtypes (str, bool, int64, categorical with its category order), row order and index.
        pd.testing.assert_frame_equal(b.visitors, a.visitors, check_exact=True)
    assert isinstance(after.visitors()["device"].dtype, pd.CategoricalDtype)


def test_round_trip_keeps_config_info_design_and_forests(hurdle, loaded):
    assert loaded.config == hurdle.config
    assert dataclasses.asdict(loaded.info) == dataclasses.asdict(hurdle.info)
    assert loaded.design.binned.features == hurdle.design.binned.features
    np.testing.assert_array_equal(loaded.design.binned.bins, hurdle.design.binned.bins)
    np.testing.assert_array_equal(loaded.design.tau_allowed, hurdle.design.tau_allowed)
    np.testing.assert_array_equal(loaded.design.arm, hurdle.design.arm)
    assert loaded.design.propensity_fill == hurdle.design.propensity_fill
    for name, fits in hurdle.channel_fits.items():
        for a, b in zip(fits.fits, loaded.channel_fits[name].fits, strict=True):
            for field, values in a.forests.arrays().items():
                np.testing.assert_array_equal(b.forests.arrays()[field], values, err_msg=field)
            np.testing.assert_array_equal(b.sigma2, a.sigma2)
            np.testing.assert_array_equal(b.acceptance, a.acceptance)
            for field in a.priors._fields:
                np.testing.assert_array_equal(getattr(b.priors, field), getattr(a.priors, field), err_msg=field)
            assert (b.centre, b.scale, b.offset) == (a.centre, a.scale, a.offset)
            # Recomputed from the forests, the training draws match the sampler's running sums.
            _close(b.mu, a.mu)
            _close(b.tau, a.tau)


def test_round_trip_keeps_effect_draws_and_predictions(hurdle, loaded):
    _close(loaded.rpv_cate_samples, hurdle.rpv_cate_samples)
    _close(loaded.conversion_part_samples, hurdle.conversion_part_samples)
    _close(loaded.order_value_part_samples, hurdle.order_value_part_samples)
    new = hurdle.observed.visitors().iloc[::97].drop(columns=["propensity_1", "propensity_2"])
    _close(loaded.predict(new), hurdle.predict(new))
    summary = loaded.diagnostics().inference_data.posterior["average_effect"].values
    _close(summary, hurdle.diagnostics().inference_data.posterior["average_effect"].values)


def test_file_is_arrays_and_json_only(saved):
    with np.load(saved, allow_pickle=False) as archive:  # would raise on any pickled member
        dtypes = {name: archive[name].dtype for name in archive.files}
        meta = json.loads(bytes(archive["meta"]).decode())
    assert all(d.kind in "biuf" for d in dtypes.values()), dtypes
    assert meta["format_version"] == FORMAT_VERSION and meta["kind"] == "hurdle"
    assert not any(name.endswith((".mu", ".tau")) for name in dtypes)  # per-visitor draws are not stored


def test_save_refuses_to_overwrite(hurdle, saved, tmp_path):
    original = saved.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        hurdle.save(saved)
    assert saved.read_bytes() == original
    target = tmp_path / "again.npz"
    target.write_bytes(b"old")
    hurdle.save(target, overwrite=True)
    assert pt.load_result(target).config == hurdle.config
    assert [p.name for p in tmp_path.iterdir()] == ["again.npz"]  # no temporary file left behind


def _rewrite_meta(source, target, **changes) -> None:
    with np.load(source, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    meta.update(changes)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(target, **arrays)


def test_wrong_version_or_format_fails_naming_the_fix(saved, tmp_path):
    newer = tmp_path / "newer.npz"
    _rewrite_meta(saved, newer, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ResultFileError, match=rf"version {FORMAT_VERSION + 1}.*Fix: upgrade pytyche"):
        pt.load_result(newer)
    other = tmp_path / "other.npz"
    _rewrite_meta(saved, other, format="something-else")
    with pytest.raises(ResultFileError, match="is not 'pytyche-bcf-result'"):
        pt.load_result(other)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    with pytest.raises(ResultFileError, match="not a pytyche result"):
        pt.load_result(plain)
    with pytest.raises(FileNotFoundError):
        pt.load_result(tmp_path / "missing.npz")


def test_damaged_files_fail_clearly(saved, tmp_path):
    raw = saved.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x80\x04not a zip at all" * 10)  # pickle-looking bytes must not be unpickled
    flipped = tmp_path / "flipped.npz"
    # Damage the compressed bytes of the largest member (zip's CRC-32 catches it on read).
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        member = max(archive.infolist(), key=lambda i: i.compress_size)
    body = bytearray(raw)
    at = member.header_offset + 30 + len(member.filename.encode()) + member.compress_size // 2
    body[at] ^= 0xFF
    flipped.write_bytes(bytes(body))
    for path in (truncated, garbage, flipped):
        with pytest.raises(ResultFileError, match="Fix:"):
            pt.load_result(path)


def test_edited_visitors_are_caught(saved, tmp_path):
    """Forests only make sense on the visitors they were fit on: re-binning is checked."""
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    frame = pd.read_parquet(io.BytesIO(bytes(arrays["visitors.0"])))
    frame["engagement"] = frame["engagement"].to_numpy()[::-1]
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    arrays["visitors.0"] = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    edited = tmp_path / "edited.npz"
    np.savez_compressed(edited, **arrays)
    with pytest.raises(ResultFileError, match="checksum"):
        pt.load_result(edited)
    # Behind the checksum, re-binning still ties the forests to their visitors.
    arrays["checksum"] = np.frombuffer(_checksum(arrays).encode(), dtype=np.uint8)
    np.savez_compressed(edited, **arrays)
    with pytest.raises(ResultFileError, match="re-binning"):
        pt.load_result(edited)


def test_an_edited_leaf_value_is_refused_by_the_checksum(saved, tmp_path):
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    leaf = arrays["conversion.0.tau_leaf"].copy()
    leaf.flat[np.argmax(np.abs(leaf))] *= 3.0  # one stronger effect: a file that would still load
    arrays["conversion.0.tau_leaf"] = leaf
    edited = tmp_path / "leaf.npz"
    np.savez_compressed(edited, **arrays)
    with pytest.raises(ResultFileError, match="checksum.*Fix:"):
        pt.load_result(edited)


def test_save_into_a_missing_folder_says_so(hurdle, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*Fix: create the folder"):
        hurdle.save(tmp_path / "no" / "such" / "folder" / "result.npz")
    assert list(tmp_path.iterdir()) == []


def test_binary_round_trip(tmp_path):
    result = binary_fit()
    path = result.save(tmp_path / "binary.npz")
    loaded = pt.BinaryBCFResult.load(path)
    assert type(loaded) is pt.BinaryBCFResult and loaded.observed.metric == "conversion_rate"
    _close(loaded.cate_samples, result.cate_samples)
    for a, b in zip(result.observed.variants, loaded.observed.variants, strict=True):
        pd.testing.assert_frame_equal(b.visitors, a.visitors, check_exact=True)
    # A binary fit has no Gaussian channel, hence no sigma^2 in its diagnostics.
    assert "sigma2_conversion" not in loaded.diagnostics().inference_data.posterior
    with pytest.raises(TypeError, match="pt.load_result"):
        pt.HurdleBCFResult.load(path)


def test_a_result_is_frozen(hurdle):
    with pytest.raises(AttributeError, match="frozen"):
        hurdle.config = None
    with pytest.raises(AttributeError, match="frozen"):
        del hurdle.observed
