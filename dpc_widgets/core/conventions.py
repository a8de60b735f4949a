"""The solved scan rotation in the words of other 4D-STEM tools: py4DSTEM, LiberTEM, quantem.

Pure functions, no array work. Each takes our correction, the py4DSTEM-convention rotation ``t``
(degrees) and ``transpose`` that :func:`~dpc_widgets.core.rotation.rotate_com` applies, and returns
the parameters with which the other tool produces the *same* scan-frame CoM field from the same
measured CoM. The conventions below were read from each tool's source code (paths and the
commits read are given per function); the facts are restated here, no code is copied.

Our convention (``docs/design.md``)
-----------------------------------
Vectors are ``(c0, c1)``: component 0 along array axis 0 of the detector (Qx) and of the scan
(Rx), component 1 along axis 1. The measured CoM ``N`` becomes the scan-frame CoM::

    s = R(t) S N,    R(t) = [[cos t, -sin t], [sin t, cos t]]   (acting on (c0, c1))

with ``S`` the swap ``(c0, c1) -> (c1, c0)`` when ``transpose`` is set, else the identity.

Which axis is called what
-------------------------
py4DSTEM and quantem call axis 0 "x" and axis 1 "y" (like us). LiberTEM works in ``(y, x)``
order with y = axis 0 (rows) and x = axis 1: LiberTEM's "y" is our component 0 (py4DSTEM's
"x"), so LiberTEM's ``flip_y`` negates *our* component 0. The arrays themselves are the same
(the same scan and detector axis order); only the names differ.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np


class _SolvedRotation(Protocol):
    angle_deg: float
    transpose: bool


def _correction(rotation: _SolvedRotation | float, transpose: bool | None) -> tuple[float, bool]:
    """``(t, transpose)`` from a result object or from an explicit angle and transpose."""
    if hasattr(rotation, "angle_deg") and hasattr(rotation, "transpose"):
        if transpose is not None:
            raise TypeError(
                "pass transpose only with an explicit angle, not with a result object "
                f"(got transpose={transpose!r})"
            )
        angle, flip = rotation.angle_deg, rotation.transpose
    else:
        angle, flip = rotation, False if transpose is None else transpose
    if isinstance(angle, bool):
        raise TypeError(f"rotation must be a number of degrees or a result, got {angle!r}")
    try:
        angle = float(angle)
    except (TypeError, ValueError):
        raise TypeError(
            f"rotation must be a number of degrees or a result with angle_deg, got {rotation!r}"
        ) from None
    if not math.isfinite(angle):
        raise ValueError(f"rotation angle must be finite, got {angle!r}")
    if isinstance(flip, np.bool_):
        flip = bool(flip)
    if not isinstance(flip, bool):
        raise TypeError(f"transpose must be True or False, got {flip!r}")
    return angle, flip


def wrap_deg(angle: float) -> float:
    """``angle`` (degrees) wrapped into ``(-180, 180]``."""
    out = math.remainder(float(angle), 360.0)
    return 180.0 if out <= -180.0 else out


def to_py4dstem(rotation: _SolvedRotation | float, transpose: bool | None = None) -> dict[str, Any]:
    """py4DSTEM's DPC parameters for our correction.

    Parameters
    ----------
    rotation : RotationResult, DPCResult or float
        A result (its ``angle_deg`` and ``transpose`` are used: for a
        :class:`~dpc_widgets.core.DPCResult` the correction actually applied) or an angle in
        degrees (py4DSTEM convention).
    transpose : bool, optional
        With an explicit angle only; default False.

    Returns
    -------
    dict
        ``force_com_rotation`` (degrees) and ``force_com_transpose`` (bool), keyword arguments
        of py4DSTEM's ``DPC.preprocess``; with them py4DSTEM produces our scan-frame CoM
        (``com_x``, ``com_y``) and its solved ``_rotation_best_rad`` equals
        ``radians(force_com_rotation)``.

    Notes
    -----
    Verified in py4dstem/py4DSTEM ``py4DSTEM/process/phase/phase_base_class.py``
    (``_solve_for_center_of_mass_relative_rotation``, commit 108fd5f) and
    ``py4DSTEM/process/phase/dpc.py`` (``DPC.preprocess``, commit 1210c91): the corrected CoM is
    ``com_x = cos t Nx - sin t Ny``, ``com_y = sin t Nx + cos t Ny`` with ``(Nx, Ny)`` along
    axes 0 and 1 of the detector, and with the transpose ``Nx`` and ``Ny`` are exchanged first.
    That is our convention, so the numbers are the same: no sign change. py4DSTEM's own sweep
    covers ``[-89, 90)`` degrees only; see :func:`py4dstem_sweep_equivalent` for what it reports
    when left to solve.
    """
    angle, flip = _correction(rotation, transpose)
    return {"force_com_rotation": angle, "force_com_transpose": flip}


def py4dstem_sweep_equivalent(angle_deg: float) -> tuple[float, bool]:
    """What py4DSTEM's own sweep reports for a physical rotation ``angle_deg``.

    Its curl sweep runs over ``[-89, 90)`` degrees (``rotation_angles_deg`` default in
    ``DPC.preprocess``) and cannot see a half turn, so it reports ``angle_deg`` wrapped into
    ``[-90, 90)`` and then integrates ``-1`` times our field when the two differ by 180 degrees.

    Parameters
    ----------
    angle_deg : float
        Our rotation in degrees.

    Returns
    -------
    (float, bool)
        The angle in ``[-90, 90)`` degrees and whether it is ``angle_deg + 180`` (so py4DSTEM's
        CoM and phase have the opposite sign of ours).
    """
    angle, _ = _correction(angle_deg, False)
    wrapped = (angle + 90.0) % 180.0 - 90.0
    flipped = abs(wrap_deg(wrapped - angle)) > 90.0
    return wrapped, flipped


def to_libertem(rotation: _SolvedRotation | float, transpose: bool | None = None) -> dict[str, Any]:
    """LiberTEM's CoM parameters (``CoMUDF.with_params``) for our correction.

    Parameters
    ----------
    rotation : RotationResult, DPCResult or float
        As in :func:`to_py4dstem`.
    transpose : bool, optional
        With an explicit angle only; default False.

    Returns
    -------
    dict
        ``scan_rotation`` (degrees, in ``(-180, 180]``) and ``flip_y`` (bool), keyword arguments
        of ``libertem.udf.com.CoMUDF.with_params`` (also ``CoMParams``). Without transpose
        ``scan_rotation = -t``, ``flip_y = False``; with transpose ``scan_rotation = 90 - t``,
        ``flip_y = True``.

    Notes
    -----
    Verified in LiberTEM/LiberTEM ``src/libertem/udf/com.py`` (``apply_correction``, commit
    01f2f12) and ``src/libertem/corrections/coordinates.py`` (commit 18923bb). LiberTEM works on
    ``(y, x)`` vectors (y = detector axis 0 = our component 0) and applies, right to left,
    first ``flip_y`` (``diag(-1, 1)`` on ``(y, x)``: negates y) and then
    ``rotate_deg(scan_rotation)``, the matrix ``[[cos a, sin a], [-sin a, cos a]]`` on
    ``(y, x)``. In our components that rotation is ``R(-a)``: LiberTEM's positive angle turns
    the vector clockwise as displayed with y down, ours counter-clockwise in (axis 0, axis 1).
    Hence ``R(t) = R(-a)`` without the swap, and since the swap is ``S = R(-90) diag(-1, 1)``,
    ``R(t) S = R(t - 90) diag(-1, 1)``, i.e. ``a = 90 - t`` with ``flip_y``. LiberTEM's
    ``guess_corrections`` also resolves the half turn (divergence negative at atoms) and returns
    whole degrees.
    """
    angle, flip = _correction(rotation, transpose)
    scan_rotation = 90.0 - angle if flip else -angle
    return {"scan_rotation": wrap_deg(scan_rotation), "flip_y": flip}


def from_libertem(scan_rotation: float, flip_y: bool) -> tuple[float, bool]:
    """Our ``(angle_deg, transpose)`` from LiberTEM's ``scan_rotation`` (degrees) and ``flip_y``.

    The inverse of :func:`to_libertem`: ``t = -scan_rotation`` or, with ``flip_y``,
    ``t = 90 - scan_rotation`` (and transpose), wrapped into ``(-180, 180]``.
    """
    angle, flip = _correction(scan_rotation, flip_y)
    return wrap_deg(90.0 - angle if flip else -angle), flip


def to_quantem(rotation: _SolvedRotation | float, transpose: bool | None = None) -> dict[str, Any]:
    """quantem's detector orientation for our correction.

    Parameters
    ----------
    rotation : RotationResult, DPCResult or float
        As in :func:`to_py4dstem`.
    transpose : bool, optional
        With an explicit angle only; default False.

    Returns
    -------
    dict
        ``detector_rotation_deg`` (degrees) and ``detector_transpose`` (bool): the properties of
        quantem's ``CenterOfMassOriginModel`` that ``estimate_detector_rotation`` sets. Same
        numbers as ours.

    Notes
    -----
    Verified in electronmicroscopy/quantem ``src/quantem/diffractive_imaging/origin_models.py``
    (``CenterOfMassOriginModel._estimate_detector_rotation`` and ``estimate_detector_rotation``,
    commit 6b55940): the CoM is a ``(..., 2)`` array with component 0 along detector axis 0
    (``qx``, ``meshgrid(..., indexing="ij")``) and component 1 along axis 1; the rotated field
    is ``x = cos t c0 - sin t c1``, ``y = sin t c0 + cos t c1``, and the transpose is
    ``flip([-1])`` of the components before rotating, the same as py4DSTEM and us. Its sweep
    covers ``[-89, 90)`` degrees without a half-turn rule (as :func:`py4dstem_sweep_equivalent`).
    Not verified: other quantem modules (e.g. its direct-ptychography and DPC reconstruction
    classes) may take the rotation under other names or signs; this function makes no claim
    about them.
    """
    angle, flip = _correction(rotation, transpose)
    return {"detector_rotation_deg": angle, "detector_transpose": flip}


__all__ = [
    "from_libertem",
    "py4dstem_sweep_equivalent",
    "to_libertem",
    "to_py4dstem",
    "to_quantem",
    "wrap_deg",
]
