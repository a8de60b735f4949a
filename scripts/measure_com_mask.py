"""Measure the pixelated-CoM region: phase correlation and rotation error against ground truth.

For each simulated case (``dw.simulate`` with Poisson noise, plus a diffuse halo, hot pixels and
a uniform background far from the disc) the pixelated CoM is computed over ``0 <= r < f * disc
radius`` (the disc found as ``load`` finds it, the origin on its centre) for several ``f`` and
over the whole detector. Printed as a Markdown table (the one in ``docs/defaults.md``)::

    PYTHONPATH=. python scripts/measure_com_mask.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import warnings

import numpy as np
import scipy.ndimage

import dpc_widgets as dw
from dpc_widgets.core import DPC

FACTORS = (1.0, 1.25, 1.5, 1.75, 2.0, 3.0, math.inf)
ROTATION = 30.0  # true scan rotation (degrees)

#: name: simulate() keywords (the disc radius in pixels is in the name)
CASES = {
    "32x32 scan, 96^2 detector, disc r = 18.7 px": dict(
        scan_shape=(32, 32), detector_shape=(96, 96)
    ),
    "16x16 scan, 256^2 detector, disc r = 4.3 px": dict(
        scan_shape=(16, 16), detector_shape=(256, 256), oversampling=12, convergence=10.0
    ),
    "16x16 scan, 256^2 detector, disc r = 2.6 px (Merlin-like)": dict(
        scan_shape=(16, 16), detector_shape=(256, 256), oversampling=16, convergence=6.0
    ),
}


@dataclasses.dataclass(frozen=True)
class Noise:
    """What is added to the noiseless patterns (each sums to 1 before ``dose``)."""

    dose: float | None = None  # mean electrons per pattern (Poisson); None: noiseless
    psf: float = 0.0  # detector point spread (Gaussian sigma, pixels), before the noise
    halo: float = 0.0  # diffuse halo, as a fraction of the dose
    uniform: float = 0.0  # background counts per pixel
    hot: int = 0  # hot pixels (Poisson, mean 200 counts each, fixed positions)


NOISE = {
    "clean (no noise)": Noise(),
    "Poisson 1e4 e-": Noise(1e4),
    "Poisson 1e4 + halo 20% + 0.05 ct/px + 20 hot px": Noise(1e4, 0, 0.2, 0.05, 20),
    "same, detector PSF sigma 1 px": Noise(1e4, 1.0, 0.2, 0.05, 20),
    "Poisson 1e3 + halo 20% + 0.1 ct/px + 20 hot px": Noise(1e3, 0, 0.2, 0.1, 20),
}


def noisy_cube(sim: dw.SimulatedData, noise: Noise, seed: int) -> dw.Datacube:
    """``sim``'s noiseless cube blurred, scaled to the dose, with a halo, a uniform background
    and hot pixels, Poisson-sampled (float32)."""
    if noise.dose is None:
        return sim.cube
    rng = np.random.default_rng(seed + 1000)
    mean = np.asarray(sim.cube.data, dtype=np.float64) * noise.dose
    if noise.psf:
        mean = scipy.ndimage.gaussian_filter(mean, (0, 0, noise.psf, noise.psf))
    qx, qy = mean.shape[2:]
    r2 = (np.arange(qx)[:, None] - qx // 2) ** 2 + (np.arange(qy)[None, :] - qy // 2) ** 2
    halo = 1.0 / (1.0 + r2 / (0.3 * qx) ** 2)  # broad, Lorentzian-like
    mean += noise.halo * noise.dose * halo / halo.sum() + noise.uniform
    flat = rng.choice(qx * qy, size=noise.hot, replace=False)
    hx, hy = np.divmod(flat, qy)
    mean[:, :, hx, hy] += 200.0
    return dataclasses.replace(sim.cube, data=rng.poisson(mean).astype(np.float32))


def measure(case: dict, noise: Noise, seeds: int) -> dict[float, tuple[float, float]]:
    """Mean phase correlation and mean |rotation error| (deg) for every factor."""
    scores: dict[float, list[tuple[float, float]]] = {f: [] for f in FACTORS}
    for seed in range(seeds):
        sim = dw.simulate(**case, rotation=ROTATION, seed=seed)
        cube = dataclasses.replace(noisy_cube(sim, noise, seed), origin="disc")  # as load()
        radius = cube.disc.radius * cube.detector_sampling
        dpc = DPC(cube, progress=False)
        detector = dw.SegmentedDetector(0.5 * radius, 1.25 * radius, 4)
        for f in FACTORS:
            masked = math.isfinite(f)
            result = dpc.run(
                detector,
                com_source="pixelated",
                com_inner=0.0 if masked else None,
                com_outer=f * radius if masked else None,
            )
            a = result.phase - result.phase.mean()
            b = sim.phase_blurred - sim.phase_blurred.mean()
            corr = float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))
            error = abs((result.angle_deg - sim.rotation + 180.0) % 360.0 - 180.0)
            scores[f].append((corr, error))
    return {f: tuple(np.mean(v, axis=0)) for f, v in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    seeds = parser.parse_args().seeds
    warnings.simplefilter("ignore")  # the weak-half-turn notes: the error column shows them
    header = " | ".join("whole" if math.isinf(f) else f"{f:g}" for f in FACTORS)
    for name, case in CASES.items():
        print(
            f"\n**{name}** ({seeds} seeds, true rotation {ROTATION:g} deg): "
            "phase correlation / mean |rotation error| (deg)\n"
        )
        print(f"| data | {header} |")
        print("|---" * (len(FACTORS) + 1) + "|")
        for label, noise in NOISE.items():
            scores = measure(case, noise, seeds)
            cells = " | ".join(f"{c:.3f} / {e:.1f}" for c, e in scores.values())
            print(f"| {label} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
