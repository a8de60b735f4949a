"""Property-based tests: ``DPC.run``, the explorer's update and ``load`` on generated data.

Data: every dtype a detector or a conversion produces (uint8 ... uint64, int16, int64, float16,
float32, float64, big-endian), scans of 1..6 x 1..6 positions, detectors of 1..12 x 1..12
pixels, filled with noise, a shifting disc, zeros, a constant, the dtype's extreme values, and
sprinkled with NaN / inf / extreme pixels; parameters at their extremes (radii from 0 to far
beyond the detector, 2..8 segments, any rotation, every descan, padding, filter and method).

What must hold for every example:

- **Only typed errors escape.** The package's typed errors are ``TypeError`` / ``ValueError``
  subclasses raised by its own checks, naming the parameter or value, and its own classes
  (:class:`~dpc_widgets.io.values.DataRangeError`, ``CacheMemoryError``). Every parameter
  generated here is valid, so the one error an example may end in is
  :class:`~dpc_widgets.io.values.DataRangeError` (the data's values cannot be summed), and only
  when the data really holds such values (checked here by :func:`cannot_be_summed`). Anything
  else (numpy's or scipy's errors from deep inside, a ``ValueError`` of an internal check)
  fails the test.
- **Results are finite or explicitly masked**: every array of a ``DPCResult`` is finite (NaN /
  inf pixels are set to 0 and counted in ``DPC.nonfinite_pixels``); an undetermined rotation
  says so (``RotationResult.determined``) with the angle used finite.
- **Inputs are unchanged** (compared with a copy, NaN included).

Profiles: CI runs the seeded, bounded ``dpc-ci`` profile (5 examples per dtype for
``DPC.run``, 25 for the explorer, 30 for ``load``; derandomized, no deadline; a few seconds for
the module). A longer random search, by hand (125 per dtype / 625 / 750 examples, a few
minutes)::

    DPC_HYPOTHESIS_PROFILE=dpc-long pytest tests/test_properties.py

``DPC_PROPERTY_LOG=path`` appends each typed error the examples met to ``path``.

(``dpc-long`` is not derandomized: each run explores new examples; hypothesis prints a
``@reproduce_failure`` line for anything it finds.)
"""

from __future__ import annotations

import math
import os
import pathlib
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import dpc_widgets as dw
from dpc_widgets import DPC, Datacube, SegmentedDetector
from dpc_widgets.io.values import DataRangeError, integer_limit
from dpc_widgets.widgets import Explorer

settings.register_profile(
    "dpc-ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dpc-long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("DPC_HYPOTHESIS_PROFILE", "dpc-ci"))

DTYPES = ["u1", "u2", "u4", "u8", "i2", "i8", "f2", "f4", "f8", ">u2", ">f4", ">f8"]
FILLS = ["noise", "disc", "zeros", "constant", "max", "min"]
SPRINKLES = ["none", "nan", "inf", "max", "blank row"]


@st.composite
def datasets(draw, dtypes=None) -> np.ndarray:
    """A generated 4D array (see the module docstring) of a dtype drawn from ``dtypes``
    (default: any of ``DTYPES``)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES) if dtypes is None else dtypes))
    scan = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    detector = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    fill = draw(st.sampled_from(FILLS))
    sprinkle = draw(st.sampled_from(SPRINKLES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (*scan, *detector)
    for name, value in (("dtype", dtype.str), ("fill", fill), ("sprinkle", sprinkle)):
        event(f"{name} {value}")  # pytest --hypothesis-show-statistics shows the spread
    info = np.iinfo(dtype) if dtype.kind in "ui" else np.finfo(dtype)
    top, bottom = float(info.max), float(info.min)
    if fill == "noise":
        values = rng.random(shape) * min(top, 1000.0)
    elif fill == "disc":
        i, j = np.meshgrid(np.arange(detector[0]), np.arange(detector[1]), indexing="ij")
        shift = rng.normal(0.0, 0.5, (*scan, 2))
        r = np.hypot(
            i - detector[0] / 2 - shift[..., :1, None], j - detector[1] / 2 - shift[..., 1:, None]
        )
        values = (r < max(detector) / 3) * min(top, 500.0) + rng.random(shape)
    elif fill == "zeros":
        values = np.zeros(shape)
    elif fill == "constant":
        values = np.full(shape, min(top, 7.0))
    elif fill == "max":
        values = np.full(shape, top)
    else:
        values = np.full(shape, bottom)
    if dtype.kind in "ui" and fill in ("max", "min"):
        data = np.full(shape, info.max if fill == "max" else info.min, dtype)  # exact
    elif dtype.kind in "ui":
        data = values.astype(dtype)  # at most 1000: exact in every integer dtype
    else:
        data = values.astype(dtype)
    index = tuple(int(rng.integers(n)) for n in shape)
    if sprinkle == "nan" and dtype.kind == "f":
        data[index] = np.nan
    elif sprinkle == "inf" and dtype.kind == "f":
        data[index] = -np.inf if rng.random() < 0.5 else np.inf
    elif sprinkle == "max":
        data[index] = info.max
    elif sprinkle == "blank row":
        data[int(rng.integers(scan[0]))] = 0
    return data


run_options = st.fixed_dictionaries(
    {
        "com_source": st.sampled_from(["segmented", "monolithic", "pixelated"]),
        "descan": st.sampled_from([None, "constant", "plane"]),
        "rotation": st.one_of(st.none(), st.floats(-720.0, 720.0)),
        "transpose": st.sampled_from([None, False, True]),
        "method": st.sampled_from(["fourier", "iterative"]),
        "padding": st.integers(1, 4),
        "pad_mode": st.sampled_from(["mirror", "zeros"]),
        "high_pass": st.sampled_from([0.0, 1e-3, 0.1, 10.0]),
        "low_pass": st.sampled_from([None, 1e-3, 0.1, 10.0]),
    }
)
geometries = st.tuples(
    st.sampled_from([0.0, 0.5, 1.0, 3.0]),  # inner (pixels)
    st.sampled_from([0.75, 2.0, 6.0, 1e6]),  # outer (pixels)
    st.integers(2, 8),  # segments
    st.floats(-360.0, 360.0),  # segment offset
)


def cannot_be_summed(data: np.ndarray) -> bool:
    """Whether the data's values are ones :class:`DataRangeError` is for (checked directly):
    integers beyond :func:`integer_limit`; floats whose size times a generous bound of what the
    package multiplies them by (pixels x detector size x 8, for the moments, the segment
    differences and 2 pi times the CoM) exceeds the float64 range."""
    if data.dtype.kind in "ui":
        extreme = max(abs(int(data.max())), abs(int(data.min())))
        return extreme > integer_limit(data.shape)
    finite = np.abs(data[np.isfinite(data)].astype(np.float64))
    if finite.size == 0:
        return False
    rx, ry, qx, qy = data.shape
    bound = 8.0 * qx * qy * max(qx, qy) * max(rx * ry, 1)
    return float(finite.max()) > np.finfo(np.float64).max / bound


def check_typed(err: BaseException, data: np.ndarray) -> None:
    """``err`` is the typed error these examples may meet (module docstring), else re-raise.

    Every generated parameter is valid, so the only error allowed is
    :class:`DataRangeError`, and only for data that really holds such values."""
    if os.environ.get("DPC_PROPERTY_LOG"):  # what was refused, for a look by hand
        with open(os.environ["DPC_PROPERTY_LOG"], "a") as log:
            log.write(f"{data.dtype} {data.shape} {type(err).__name__}: {err}\n")
    if isinstance(err, DataRangeError):
        assert cannot_be_summed(data), f"DataRangeError on summable data: {err}"
        return
    raise err


def check_result(result: dw.DPCResult) -> None:
    for name in ("segment_images", "com", "com_rotated", "phase"):
        array = getattr(result, name)
        assert np.isfinite(array).all(), f"{name} is not finite"
    assert math.isfinite(result.angle_deg)
    rotation = result.rotation
    assert rotation.determined or (rotation.reason and rotation.angle_deg == 0.0)


def same(data: np.ndarray, kept: np.ndarray) -> None:
    assert data.dtype == kept.dtype
    np.testing.assert_array_equal(data, kept)  # NaN compares equal here


@pytest.mark.parametrize("dtype", DTYPES)
def test_dpc_run_answers_or_raises_a_typed_error(dtype):
    """Every dtype gets its own examples (derandomized draws would favour a few)."""
    run_examples(dtype)


@settings(PROFILE, max_examples=max(5, PROFILE.max_examples // 8))
@given(data=st.data(), geometry=geometries, options=run_options)
def run_examples(dtype, data, geometry, options):
    data = data.draw(datasets(st.just(dtype)))
    kept = data.copy()
    inner, outer, segments, offset = geometry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            detector = SegmentedDetector(inner, max(outer, inner + 0.25), segments, offset)
            dpc = DPC(Datacube(data), progress=False)
            check_result(dpc.run(detector, **options))
            if data.dtype.kind == "f":
                assert dpc.nonfinite_pixels == np.count_nonzero(~np.isfinite(data))
        except Exception as err:  # noqa: BLE001 - sorted by check_typed
            check_typed(err, data)
    same(data, kept)


@settings(PROFILE, max_examples=PROFILE.max_examples * 5 // 8)
@given(data=datasets(), source=st.sampled_from(["segmented", "monolithic", "pixelated"]))
def test_explorer_update_answers_or_says_why(data, source):
    kept = data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            explorer = Explorer(data, com_source=source)
        except Exception as err:  # noqa: BLE001 - sorted by check_typed
            check_typed(err, data)
            same(data, kept)
            return
        assert "dpc-status-error" not in explorer.status.value, explorer.status.value
        check_result(explorer.results)
        explorer.segments.value = 8 if explorer.segments.value != 8 else 4
        explorer.auto_rotation.value = False
        explorer.scan_rotation.value = 45.0
        assert "dpc-status-error" not in explorer.status.value, explorer.status.value
        check_result(explorer.results)
    same(data, kept)


@settings(PROFILE, max_examples=PROFILE.max_examples * 3 // 4)
@given(data=datasets(), options=run_options)
def test_load_of_a_npy_file_round_trips_and_runs(data, options):
    kept = data.copy()
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = pathlib.Path(folder) / "cube.npy"
        np.save(path, data)
        cube = None
        try:
            cube = dw.load(path)
            assert cube.shape == data.shape
            same(np.asarray(cube.data), data)  # the values as written, dtype included
            qx, qy = cube.detector_shape
            detector = SegmentedDetector(0.0, max(qx, qy) / 2 + 0.5, 4)
            check_result(DPC(cube, progress=False).run(detector, **options))
        except Exception as err:  # noqa: BLE001 - sorted by check_typed
            check_typed(err, data)
        del cube  # release the memory map before the folder goes
    same(data, kept)


@pytest.mark.parametrize("dtype", ["u8", "i8"])
def test_cannot_be_summed_matches_the_package(dtype):
    """The oracle above agrees with io/values.py on both sides of the limit."""
    limit = integer_limit((2, 2, 4, 4))
    data = np.full((2, 2, 4, 4), limit, dtype)
    assert not cannot_be_summed(data)
    DPC(Datacube(data)).com()
    data[0, 0, 0, 0] = limit + 1
    assert cannot_be_summed(data)
    with pytest.raises(DataRangeError):
        DPC(Datacube(data)).com()
