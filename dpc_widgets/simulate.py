"""Synthetic 4D-STEM data with ground truth: a weak phase object scanned by an ideal probe.

Model
-----
- Object: the [100] projection of a perovskite (SrTiO3 by default, ``a = 3.905`` A): Gaussian
  columns at the Sr corner ``(0, 0)``, the Ti-O column ``(1/2, 1/2)`` and the O columns
  ``(1/2, 0)``, ``(0, 1/2)`` (fractional coordinates), with decreasing strengths. The field of
  view is a whole number of unit cells and is periodic. The transmission function is the pure
  phase object ``t = exp(i phi)``, ``phi = sigma V >= 0`` (positive on the columns, largest on
  Sr), scaled so that ``max(phi) = max_phase`` radians.
- Probe: aberration-free, ``P = IFFT(aperture)`` with the aperture ``|k| < alpha / lambda`` on the
  Fourier grid of the probe window (``k = fftfreq(Q, dx)`` in 1/A), centred on pixel
  ``(Q // 2, Q // 2)`` and normalised to ``sum |P|^2 = 1``. It is real and point-symmetric.
- Pattern at scan position ``s``: ``|FFT(P * t(r + s))|^2``, fftshifted (zero frequency at
  ``(Qx // 2, Qy // 2)``). The object is sampled on a grid of pixel ``dx`` equal to the scan step
  divided by ``oversampling``, so every scan shift is an exact roll of the periodic object by an
  integer number of pixels (no interpolation).

Conventions
-----------
- Axes (Rx, Ry, Qx, Qy); x is axis 0 in real and in reciprocal space.
- NumPy's FFT sign, ``F(k) = sum f(r) exp(-2 pi i k.r)``: a phase ramp ``phi = 2 pi g.r`` moves
  the pattern to ``+g``. Hence the centre of mass (CoM) of a noiseless, unrotated pattern in 1/A
  is ``(1 / 2 pi) (|P|^2 * grad phi)`` = ``(1 / 2 pi) grad phi_blurred``, where ``phi_blurred``
  is the phase convolved with the normalised probe intensity (:attr:`SimulatedData.phase_blurred`,
  what an exact CoM integration recovers).
- Calibrations: the detector pixel is ``1 / (Q dx)`` in 1/A, i.e. ``lambda / (Q dx) * 1e3`` mrad
  (the py4DSTEM tutorial formula); the scan step is ``dx * oversampling`` in A.
- Scan rotation and transpose (py4DSTEM's convention, ``docs/design.md``): the measured CoM
  ``N = (Nx, Ny)`` gives the scan-frame CoM as ``R_t N`` (``R_t = [[cos t, -sin t],
  [sin t, cos t]]`` on (x, y)), with ``(Nx, Ny)`` swapped first when transposed. The simulator's
  ``rotation`` is this ``t``: the measured pattern is ``I_meas(q) = I_true(R_t S q)`` about the
  detector centre (``S`` the swap or the identity), so ``N = S R_(-t) CoM_true``.
  It is produced by pushing each true pixel's intensity to its rotated position with bilinear
  weights ("splatting"), which conserves the total intensity and the first moment exactly: the
  measured CoM is exactly ``S R_(-t)`` times the true CoM (up to the negligible intensity that
  lands outside the detector).
- Sampling: the probe intensity has spatial frequencies up to ``2 alpha / lambda``; the default
  number of unit cells keeps the scan's Nyquist frequency ``1 / (2 step)`` above it (with a 20 %
  margin), so ``phase_blurred`` is sampled without aliasing. A coarser scan (more ``cells``) is
  allowed, as in real experiments, but then the scan-grid samples of ``phase_blurred`` alias and
  no integration of the CoM can reproduce them exactly.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
import psutil
import scipy.fft

from .io import Datacube
from .physics import (
    ELECTRON_MASS,
    ELEMENTARY_CHARGE,
    SPEED_OF_LIGHT,
    electron_wavelength,
    finite_real,
    integer_at_least,
    positive_finite,
)

#: Largest dose (electrons per pattern) whose Poisson counts NumPy samples (its limit is ~9e18).
MAX_DOSE = 1e18
#: Share of the available memory a simulation may take (as the compute core's budget).
MEMORY_FRACTION = 0.4

# SrTiO3 [100]: (fractional x, fractional y, relative strength, Gaussian sigma in A).
PEROVSKITE_COLUMNS = (
    (0.0, 0.0, 1.0, 0.35),  # Sr
    (0.5, 0.5, 0.7, 0.33),  # Ti-O
    (0.5, 0.0, 0.25, 0.30),  # O
    (0.0, 0.5, 0.25, 0.30),  # O
)
_NYQUIST_MARGIN = 0.8
_BATCH_BYTES = 32 * 2**20
_DTYPES = (np.float32, np.float64, np.uint16, np.uint32)


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedData:
    """A simulated 4D-STEM dataset and its ground truth.

    Attributes
    ----------
    cube : Datacube
        The data (Rx, Ry, Qx, Qy), calibrated: energy (eV), scan step (A), detector pixel (mrad),
        origin ``(Qx // 2, Qy // 2)``.
    phase : ndarray (Rx, Ry)
        True object phase in radians at the scan positions.
    phase_blurred : ndarray (Rx, Ry)
        ``phase`` convolved with the normalised probe intensity ``|P|^2`` (radians): what an
        exact integration of the CoM recovers (up to a constant).
    com : ndarray (2, Rx, Ry)
        Noiseless CoM of the unrotated patterns in the scan frame, in 1/A
        (``= grad(phase_blurred) / 2 pi``).
    rotation : float
        Scan-to-detector rotation ``t`` in degrees (py4DSTEM convention, see module docstring).
    transpose : bool
        Whether the detector axes are swapped (before the rotation).
    object_phase : ndarray (Rx * oversampling, Ry * oversampling)
        The phase on the object grid (pixel ``object_sampling``), radians; ``phase`` is
        ``object_phase[::oversampling, ::oversampling]``.
    potential : ndarray
        Projected potential ``object_phase / interaction_constant`` in V A.
    probe : ndarray (Qx, Qy), complex
        The probe on the probe window (pixel ``object_sampling``), centred on
        ``(Qx // 2, Qy // 2)``, ``sum |P|^2 = 1``.
    energy : float
        Beam energy in eV.
    wavelength : float
        Electron wavelength in A.
    interaction_constant : float
        ``sigma`` in rad / (V A).
    convergence : float
        Probe semi-angle in mrad.
    lattice : float
        Lattice constant in A.
    cells : (int, int)
        Unit cells spanned by the scan along x and y.
    scan_step : float
        Scan step in A.
    object_sampling : float
        Pixel of the object and probe grids in A (``scan_step / oversampling``).
    oversampling : int
        Object pixels per scan step.
    detector_sampling : float
        Detector pixel in mrad.
    dose : float or None
        Mean electrons per pattern (``None``: noiseless).
    """

    cube: Datacube
    phase: np.ndarray
    phase_blurred: np.ndarray
    com: np.ndarray
    rotation: float
    transpose: bool
    object_phase: np.ndarray
    potential: np.ndarray
    probe: np.ndarray
    energy: float
    wavelength: float
    interaction_constant: float
    convergence: float
    lattice: float
    cells: tuple[int, int]
    scan_step: float
    object_sampling: float
    oversampling: int
    detector_sampling: float
    dose: float | None

    @property
    def scan_nyquist_ok(self) -> bool:
        """True when the scan Nyquist frequency exceeds the probe-intensity bandwidth."""
        bandwidth = 2.0 * self.convergence * 1e-3 / self.wavelength
        return 1.0 / (2.0 * self.scan_step) > bandwidth


def simulate(
    scan_shape: tuple[int, int] = (32, 32),
    detector_shape: tuple[int, int] = (96, 96),
    *,
    energy: float = 200e3,
    convergence: float = 20.0,
    max_phase: float = 0.5,
    lattice: float = 3.905,
    cells: int | tuple[int, int] | None = None,
    oversampling: int = 1,
    rotation: float = 0.0,
    transpose: bool = False,
    dose: float | None = None,
    seed: Any = None,
    dtype: Any = np.float32,
) -> SimulatedData:
    """Simulate a 4D-STEM scan of a perovskite weak phase object with known ground truth.

    See the module docstring for the physical model and every convention.

    Parameters
    ----------
    scan_shape : (int, int)
        Scan positions (Rx, Ry), each >= 2.
    detector_shape : (int, int)
        Detector pixels (Qx, Qy); square (``Qx == Qy``, so the pixels are square), >= 8.
    energy : float
        Beam energy in eV.
    convergence : float
        Probe convergence semi-angle ``alpha`` in mrad; the bright-field disc must fit inside the
        detector (``alpha`` below ``(Q // 2 - 1)`` pixels).
    max_phase : float
        Peak object phase in radians (on the Sr columns), > 0; 0.1 to 1 is a weak phase object.
    lattice : float
        Cubic lattice constant ``a`` in A.
    cells : int or (int, int), optional
        Unit cells covered by the scan along x and y (the field of view is ``cells * a`` and
        periodic). ``cells[0] / Rx`` must equal ``cells[1] / Ry`` (square scan steps).
        Default: the most cells whose scan step keeps ``1 / (2 step) >= 2 alpha / lambda / 0.8``
        (at least 1): 2 x 2 cells for the defaults, step 0.244 A.
    oversampling : int
        Object (and probe) pixels per scan step, >= 1; the object pixel is
        ``step / oversampling``, which sets the detector pixel ``lambda / (Q dx)``.
    rotation : float
        Scan-to-detector rotation ``t`` in degrees, the angle a solver in py4DSTEM's convention
        must return (true CoM = ``R_t`` times the measured CoM, after the swap if transposed).
    transpose : bool
        Swap the detector axes (applied before the rotation, as in py4DSTEM).
    dose : float, optional
        Mean electrons per pattern for Poisson noise, at most 1e18 (:data:`MAX_DOSE`).
        ``None``: noiseless, every pattern sums to 1 (before noise the patterns are normalised
        to sum 1, then scaled by ``dose``). A dose so small that no pattern gets a count gives
        an all-zero cube with a :class:`UserWarning` saying so.
    seed : int or numpy.random.Generator, optional
        Seed of the noise (reproducible results): None, an integer >= 0, a Generator (or a
        SeedSequence / BitGenerator).
    dtype : {numpy.float32, numpy.float64, numpy.uint16, numpy.uint32}
        Data type of the cube; integer types hold counts and need a ``dose``.

    Returns
    -------
    SimulatedData
        The cube and the ground truth.

    Raises
    ------
    TypeError
        For non-integer shapes, cells or oversampling, non-boolean ``transpose``, a seed that
        is no integer or Generator.
    ValueError
        For a non-square detector, too small shapes, a non-positive energy, convergence, phase,
        lattice or dose, a disc that does not fit the detector, steps that are not square, an
        unknown dtype, integer data without a dose, a dose above 1e18, a negative seed, or
        counts that overflow the integer dtype.
    MemoryError
        When the cube and the oversampled object grid exceed 40 % of the available memory
        (checked before any allocation; e.g. a huge ``oversampling``).
    """
    rx, ry = _shape_pair(scan_shape, "scan_shape", 2)
    qx, qy = _shape_pair(detector_shape, "detector_shape", 8)
    if qx != qy:
        raise ValueError(
            f"detector_shape must be square (square detector pixels), got {detector_shape!r}"
        )
    energy = positive_finite(energy, "energy (eV)")
    convergence = positive_finite(convergence, "convergence (mrad)")
    max_phase = positive_finite(max_phase, "max_phase (rad)")
    lattice = positive_finite(lattice, "lattice (A)")
    oversampling = integer_at_least(oversampling, "oversampling", 1)
    rotation = finite_real(rotation, "rotation (deg)")
    if not isinstance(transpose, (bool, np.bool_)):
        raise TypeError(f"transpose must be True or False, got {transpose!r}")
    if dose is not None:
        dose = positive_finite(dose, "dose (electrons per pattern)")
        if dose > MAX_DOSE:
            raise ValueError(
                f"dose (electrons per pattern) must be at most {MAX_DOSE:g} (Poisson noise "
                f"beyond it is not sampled; use dose=None for noiseless data), got {dose!r}"
            )
    seed = _check_seed(seed)
    dtype = _check_dtype(dtype, dose)
    _check_memory((rx, ry), (qx, qy), oversampling, dtype)

    wavelength = electron_wavelength(energy)
    k_aperture = convergence * 1e-3 / wavelength
    cells = _resolve_cells(cells, (rx, ry), lattice, k_aperture)
    step = cells[0] * lattice / rx
    dx = step / oversampling
    detector_mrad = wavelength / (qx * dx) * 1e3
    if convergence >= (qx // 2 - 1) * detector_mrad:
        raise ValueError(
            f"convergence {convergence!r} mrad does not fit the detector: its edge is at "
            f"{(qx // 2 - 1) * detector_mrad:.3g} mrad (pixel {detector_mrad:.4g} mrad); "
            "use a larger detector_shape, a larger oversampling or a smaller convergence"
        )

    sigma = _interaction_constant(energy, wavelength)
    object_phase = _perovskite_phase((rx * oversampling, ry * oversampling), dx, lattice, max_phase)
    probe = _probe(qx, dx, k_aperture)
    intensity = np.abs(probe) ** 2
    blurred = _correlate_periodic(object_phase, intensity)
    operator = _rotation_operator(qx, rotation, bool(transpose))
    rng = np.random.default_rng(seed) if dose is not None else None
    data = np.empty((rx * ry, qx * qy), dtype=dtype)
    com = np.empty((2, rx * ry))
    counted = dose is None
    for start, stop, patterns in _pattern_batches(object_phase, probe, (rx, ry), oversampling):
        patterns /= patterns.sum(axis=1, keepdims=True)
        com[:, start:stop] = _pattern_com(patterns, qx) / (qx * dx)
        if operator is not None:
            patterns = np.ascontiguousarray(operator.dot(patterns.T).T)
            patterns /= patterns.sum(axis=1, keepdims=True)
        data[start:stop] = _finish(patterns, dose, rng, dtype)
        counted = counted or bool(data[start:stop].any())
    if not counted:
        warnings.warn(
            f"dose {dose!r} electrons per pattern gave no count in any of the {rx * ry} "
            "patterns: the cube is all zeros (a CoM cannot be measured); use a larger dose",
            UserWarning,
            stacklevel=2,
        )
    data = data.reshape(rx, ry, qx, qy)

    cube = Datacube(
        data,
        energy=energy,
        scan_sampling=step,
        scan_units="A",
        detector_sampling=detector_mrad,
        detector_units="mrad",
        origin=(qx // 2, qy // 2),
    )
    return SimulatedData(
        cube=cube,
        phase=object_phase[::oversampling, ::oversampling].copy(),
        phase_blurred=blurred[::oversampling, ::oversampling].copy(),
        com=com.reshape(2, rx, ry),
        rotation=rotation,
        transpose=bool(transpose),
        object_phase=object_phase,
        potential=object_phase / sigma,
        probe=probe,
        energy=energy,
        wavelength=wavelength,
        interaction_constant=sigma,
        convergence=convergence,
        lattice=lattice,
        cells=cells,
        scan_step=step,
        object_sampling=dx,
        oversampling=oversampling,
        detector_sampling=detector_mrad,
        dose=dose,
    )


# --------------------------------------------------------------------------- validation
def _shape_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    try:
        first, second = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of integers, got {value!r}") from None
    return (
        integer_at_least(first, f"{name}[0]", minimum),
        integer_at_least(second, f"{name}[1]", minimum),
    )


def _check_seed(seed: Any) -> Any:
    """``seed`` if NumPy's ``default_rng`` takes it: None, an integer >= 0, a Generator,
    a SeedSequence or a BitGenerator; else TypeError/ValueError naming it."""
    if seed is None or isinstance(
        seed, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    ):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral):
        raise TypeError(
            f"seed must be None, an integer >= 0 or a numpy.random.Generator, got {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_memory(
    scan: tuple[int, int], detector: tuple[int, int], oversampling: int, dtype: np.dtype
) -> None:
    """Refuse a simulation whose arrays exceed :data:`MEMORY_FRACTION` of available memory.

    Counts the cube, the object grid ``(Rx * oversampling, Ry * oversampling)`` (phase,
    transmission and blurred phase: 40 bytes a pixel) and one batch of patterns.
    """
    rx, ry = scan
    cube = rx * ry * detector[0] * detector[1] * dtype.itemsize
    grid = 40 * (rx * oversampling) * (ry * oversampling)
    needed = cube + grid + 4 * _BATCH_BYTES
    available = psutil.virtual_memory().available
    if needed > MEMORY_FRACTION * available:
        raise MemoryError(
            f"simulate(scan_shape={scan!r}, detector_shape={detector!r}, "
            f"oversampling={oversampling!r}) needs {_gib(needed)} (cube {_gib(cube)}, object "
            f"grid {_gib(grid)}), over the memory budget of {_gib(MEMORY_FRACTION * available)} "
            f"({MEMORY_FRACTION:.0%} of the {_gib(available)} available now); use a smaller "
            "oversampling, scan_shape or detector_shape"
        )


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def _check_dtype(dtype: Any, dose: float | None) -> np.dtype:
    allowed = [np.dtype(d) for d in _DTYPES]
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out not in allowed:
        raise ValueError(f"dtype must be one of float32, float64, uint16, uint32, got {dtype!r}")
    if out.kind == "u" and dose is None:
        raise ValueError(f"integer dtype {out} holds counts: give a dose (electrons per pattern)")
    return out


def _resolve_cells(
    cells: Any, scan: tuple[int, int], lattice: float, k_aperture: float
) -> tuple[int, int]:
    if cells is None:
        # Square steps need cells = j * (Rx, Ry) / gcd; take the largest j (at least 1) with
        # 1 / (2 step) >= 2 k_aperture / margin, step = j * a / gcd.
        g = math.gcd(*scan)
        j = max(1, math.floor(g * _NYQUIST_MARGIN / (4.0 * k_aperture * lattice)))
        return j * scan[0] // g, j * scan[1] // g
    if isinstance(cells, Integral) and not isinstance(cells, (bool, np.bool_)):
        cells = (cells, cells)
    pair = _shape_pair(cells, "cells", 1)
    if pair[0] * scan[1] != pair[1] * scan[0]:
        raise ValueError(
            f"cells {cells!r} with scan_shape {scan!r} give non-square scan steps: "
            "cells[0] / Rx must equal cells[1] / Ry"
        )
    return pair


# --------------------------------------------------------------------------- physics
def _interaction_constant(energy: float, wavelength: float) -> float:
    """``sigma = 2 pi m e lambda / h^2`` (relativistic mass) in rad / (V A)."""
    rest = ELECTRON_MASS * SPEED_OF_LIGHT**2 / ELEMENTARY_CHARGE  # eV
    return 2.0 * math.pi / (wavelength * energy) * (rest + energy) / (2.0 * rest + energy)


def _perovskite_phase(
    shape: tuple[int, int], dx: float, lattice: float, max_phase: float
) -> np.ndarray:
    """Periodic sum of Gaussian columns (nearest image within the unit cell), max = max_phase."""
    x = np.arange(shape[0]) * dx
    y = np.arange(shape[1]) * dx
    total = np.zeros(shape)
    for fx, fy, weight, width in PEROVSKITE_COLUMNS:
        ddx = (x - fx * lattice + lattice / 2) % lattice - lattice / 2
        ddy = (y - fy * lattice + lattice / 2) % lattice - lattice / 2
        gx = np.exp(-(ddx**2) / (2 * width**2))
        gy = np.exp(-(ddy**2) / (2 * width**2))
        total += weight * gx[:, None] * gy[None, :]
    return total * (max_phase / total.max())


def _probe(n: int, dx: float, k_aperture: float) -> np.ndarray:
    """Aberration-free probe on an n x n window of pixel dx, centred on (n // 2, n // 2)."""
    k = np.fft.fftfreq(n, dx)
    aperture = (k[:, None] ** 2 + k[None, :] ** 2 < k_aperture**2).astype(np.complex128)
    probe = np.fft.fftshift(np.fft.ifft2(aperture))
    return probe / math.sqrt(float((np.abs(probe) ** 2).sum()))


def _correlate_periodic(phase: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """``sum_d K(d) phase(r + d)``, K the probe intensity with its centre moved to d = 0,
    folded onto the periodic object grid."""
    n = intensity.shape[0]
    nx, ny = phase.shape
    offsets = np.arange(n) - n // 2
    kernel = np.zeros(phase.shape)
    np.add.at(kernel, (offsets[:, None] % nx, offsets[None, :] % ny), intensity)
    spectrum = np.fft.fft2(phase) * np.conj(np.fft.fft2(kernel))
    return np.fft.ifft2(spectrum).real


def _pattern_batches(
    object_phase: np.ndarray, probe: np.ndarray, scan: tuple[int, int], oversampling: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Noiseless, unrotated, fftshifted patterns in batches of flat scan indices
    ``start:stop`` (``rx * Ry + ry``): ``(start, stop, array (stop - start, Q * Q) float64)``."""
    n = probe.shape[0]
    nx, ny = object_phase.shape
    transmission = np.exp(1j * object_phase)
    window = np.arange(n) - n // 2
    sx, sy = np.meshgrid(np.arange(scan[0]), np.arange(scan[1]), indexing="ij")
    sx, sy = sx.ravel() * oversampling, sy.ravel() * oversampling
    batch = max(1, _BATCH_BYTES // (16 * n * n))
    for start in range(0, sx.size, batch):
        stop = min(sx.size, start + batch)
        ix = (sx[start:stop, None] + window[None, :]) % nx
        iy = (sy[start:stop, None] + window[None, :]) % ny
        wave = transmission[ix[:, :, None], iy[:, None, :]] * probe
        spectrum = scipy.fft.fft2(wave, axes=(-2, -1), workers=-1, overwrite_x=True)
        shifted = np.fft.fftshift(spectrum, axes=(-2, -1))
        yield start, stop, (shifted.real**2 + shifted.imag**2).reshape(stop - start, n * n)


def _pattern_com(patterns: np.ndarray, n: int) -> np.ndarray:
    """CoM (2, P) in pixels from the centre ``n // 2`` of patterns (P, n * n) summing to 1."""
    q = np.arange(n) - n // 2
    cube = patterns.reshape(-1, n, n)
    return np.stack([cube.sum(axis=2) @ q, cube.sum(axis=1) @ q])


def _rotation_operator(n: int, rotation: float, transpose: bool) -> scipy.sparse.csr_matrix | None:
    """Sparse (n*n, n*n) map from true to measured patterns (bilinear splatting); ``None`` for
    the identity.

    The true pixel ``u`` (from the centre) goes to ``q = S R_(-t) u``, so that
    ``I_meas(q) = I_true(R_t S q)``; its intensity is shared among the 4 pixels around ``q``
    with bilinear weights, which conserve intensity and first moment exactly.
    """
    import scipy.sparse  # only the simulator needs it: not imported with the package

    if rotation == 0.0 and not transpose:
        return None
    t = math.radians(rotation)
    c, s = math.cos(t), math.sin(t)
    u, v = np.meshgrid(np.arange(n) - n // 2, np.arange(n) - n // 2, indexing="ij")
    u, v = u.ravel().astype(np.float64), v.ravel().astype(np.float64)
    px, py = c * u + s * v, -s * u + c * v  # R_(-t) u
    if transpose:
        px, py = py, px
    px, py = px + n // 2, py + n // 2
    fx, fy = np.floor(px), np.floor(py)
    wx, wy = px - fx, py - fy
    source = np.arange(n * n)
    rows, cols, vals = [], [], []
    for ox, oy, weight in (
        (0, 0, (1 - wx) * (1 - wy)),
        (1, 0, wx * (1 - wy)),
        (0, 1, (1 - wx) * wy),
        (1, 1, wx * wy),
    ):
        tx, ty = fx.astype(np.int64) + ox, fy.astype(np.int64) + oy
        inside = (tx >= 0) & (tx < n) & (ty >= 0) & (ty < n) & (weight > 0)
        rows.append(tx[inside] * n + ty[inside])
        cols.append(source[inside])
        vals.append(weight[inside])
    return scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n)
    )


def _finish(
    patterns: np.ndarray, dose: float | None, rng: np.random.Generator | None, dtype: np.dtype
) -> np.ndarray:
    """Scale by the dose, add Poisson noise (``rng``) and cast."""
    if dose is None or rng is None:
        return patterns.astype(dtype)
    counts = rng.poisson(patterns * dose)
    if dtype.kind == "u" and counts.max() > np.iinfo(dtype).max:
        raise ValueError(
            f"dose {dose!r} gives {counts.max()} counts in a pixel, more than {dtype} holds "
            f"({np.iinfo(dtype).max}); use a smaller dose or a wider dtype"
        )
    return counts.astype(dtype)


__all__ = ["PEROVSKITE_COLUMNS", "SimulatedData", "simulate"]
