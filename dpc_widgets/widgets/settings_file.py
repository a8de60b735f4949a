"""Settings files: the explorer's :class:`Settings` and detector centre as versioned JSON.

Format (``version`` 1)::

    {
      "format": "dpc-widgets settings",
      "version": 1,
      "settings": {"inner": 10.0, "outer": 25.0, "segments": 4, ..., "com_outer": null},
      "origin": null,
      "calibration": {"energy": 200000.0, "scan_sampling": 0.2, "scan_units": "A",
                      "detector_sampling": 1.06, "detector_units": "mrad"}
    }

``settings`` holds :class:`Settings` fields, any subset: missing ones take the explorer's
defaults for the data (radii from the bright-field disc, see
:func:`~dpc_widgets.widgets.settings.initial_settings`). Radii are in the data's detector
units, angles in degrees; a ``null`` float is infinity (``com_outer``: no limit), ``descan``
``null`` is no descan correction. ``origin`` is the detector centre ``[qx, qy]`` in pixels, or
``null`` for the centre found on loading (each file's own bright-field disc). ``calibration``
(optional) records the calibration the settings were used with (``energy`` in eV or ``null``
when unknown, scan step and detector pixel size with their units; radii above are in these
detector units): a record for the reader, not applied when the file is read (the data's own
calibration and ``energy=``-style options apply). ``format`` may be left out; ``version`` may
not.

Written by :meth:`Explorer.save_settings <dpc_widgets.widgets.Explorer.save_settings>`, read by
``Explorer(..., settings=path)`` and ``dpc-widgets process --settings path``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from ..detectors import SegmentedDetector
from .settings import Settings, check_setting

FORMAT = "dpc-widgets settings"
VERSION = 1
_TOP_KEYS = ("format", "version", "settings", "origin", "calibration")
#: Keys of the ``calibration`` record and the JSON values they take.
_CALIBRATION_KEYS = {
    "energy": "a number (eV) or null",
    "scan_sampling": "a number",
    "scan_units": "a string",
    "detector_sampling": "a number",
    "detector_units": "a string",
}
#: JSON type each Settings field takes (from the field annotations).
_KINDS = {field.name: str(field.type) for field in dataclasses.fields(Settings)}
_EXPECTED = {
    "float": "a number (null for infinity)",
    "int": "an integer",
    "bool": "true or false",
    "str": "a string",
    "str | None": "a string or null",
}


class SettingsFileError(ValueError):
    """Settings JSON that cannot be used; the message names the source, the key and the value."""


@dataclasses.dataclass(frozen=True)
class SavedSettings:
    """The contents of a settings file.

    Attributes
    ----------
    values : dict
        :class:`Settings` fields, checked one by one (and the geometry when both radii are
        given); the others are left to the defaults for the data.
    origin : (float, float) or None
        Detector centre (qx, qy) in pixels; ``None``: the centre found on loading.
    calibration : dict or None
        The calibration recorded with the settings (keys of
        :meth:`~dpc_widgets.Datacube.with_calibration`); not applied when read.
    """

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    origin: tuple[float, float] | None = None
    calibration: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        settings: Settings,
        origin: tuple[float, float] | None = None,
        calibration: Mapping[str, Any] | None = None,
    ) -> SavedSettings:
        """All fields of ``settings``, ``origin`` (pixels, or ``None``) and the
        ``calibration`` used (or ``None``)."""
        record = None if calibration is None else _calibration(calibration, "calibration")
        return cls(dataclasses.asdict(settings), _origin(origin, "origin"), record)

    def to_json(self) -> str:
        """The settings file's text (indented JSON, floats exactly as ``repr`` writes them)."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "settings": {k: _jsonable(v) for k, v in self.values.items()},
            "origin": None if self.origin is None else list(self.origin),
        }
        if self.calibration is not None:
            document["calibration"] = dict(self.calibration)
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "settings JSON") -> SavedSettings:
        """Parse and check a settings file's text.

        Parameters
        ----------
        text : str
            The JSON document.
        source : str
            Where it came from, for error messages (e.g. the path).

        Raises
        ------
        SettingsFileError
            For invalid JSON (also ``NaN``/``Infinity`` and nesting too deep to parse), an
            unsupported version, an unknown key or a bad value: the message names ``source``,
            the key and the value.
        """
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as err:
            raise SettingsFileError(f"{source}: not valid settings JSON: {err}") from None
        except RecursionError:
            raise SettingsFileError(
                f"{source}: not a settings file: JSON nested too deeply to read"
            ) from None
        if not isinstance(document, dict):
            raise SettingsFileError(f"{source}: expected a JSON object, got {document!r}")
        for key, value in document.items():
            if key not in _TOP_KEYS:
                raise SettingsFileError(
                    f"{source}: unknown key {key!r} (value {value!r}); expected {_TOP_KEYS}"
                )
        if document.get("format", FORMAT) != FORMAT:
            raise SettingsFileError(
                f"{source}: key 'format' must be {FORMAT!r}, got {document['format']!r}"
            )
        if "version" not in document:
            raise SettingsFileError(f"{source}: missing key 'version' (this reader: {VERSION})")
        version = document["version"]
        if type(version) is not int or version != VERSION:
            raise SettingsFileError(
                f"{source}: key 'version' is {version!r}; this dpc-widgets reads version {VERSION}"
            )
        raw = document.get("settings", {})
        if not isinstance(raw, dict):
            raise SettingsFileError(f"{source}: key 'settings' must be an object, got {raw!r}")
        values = {name: _setting(name, value, source) for name, value in raw.items()}
        _check_geometry(values, source)
        try:
            origin = _origin(document.get("origin"), "origin")
            calibration = document.get("calibration")
            if calibration is not None:
                calibration = _calibration(calibration, "calibration")
        except (TypeError, ValueError) as err:
            raise SettingsFileError(f"{source}: {err}") from None
        return cls(values, origin, calibration)


def read_settings(path: str | os.PathLike) -> SavedSettings:
    """Read a settings file (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SettingsFileError
        For its content (see :meth:`SavedSettings.from_json`), also text that is not UTF-8
        (a UTF-16 or Latin-1 file, a binary file): the message names the file.
    """
    path = pathlib.Path(path)
    source = f"'{path}'"
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as err:
        raise SettingsFileError(
            f"{source}: not a settings file: not UTF-8 text (byte {err.start}: "
            f"{raw[err.start : err.start + 1]!r}); save it as UTF-8 JSON"
        ) from None
    return SavedSettings.from_json(text, source=source)


def write_settings(
    path: str | os.PathLike,
    settings: Settings,
    *,
    origin: tuple[float, float] | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write ``settings`` (the detector ``origin``, pixels, and the ``calibration`` used,
    a record) as a settings file.

    The folder is created when missing; returns the path written.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = SavedSettings.of(settings, origin, calibration).to_json()
    path.write_text(text, encoding="utf-8")
    return path


def as_saved(source: Settings | SavedSettings | str | os.PathLike | None) -> SavedSettings:
    """Settings from a :class:`Settings`, :class:`SavedSettings`, a file path, or nothing.

    Raises
    ------
    TypeError
        For anything else.
    FileNotFoundError, SettingsFileError
        From :func:`read_settings`.
    """
    if source is None:
        return SavedSettings()
    if isinstance(source, SavedSettings):
        return source
    if isinstance(source, Settings):
        return SavedSettings.of(source)
    if isinstance(source, (str, os.PathLike)):
        return read_settings(source)
    raise TypeError(
        f"settings must be a Settings, a settings file path or None, got {type(source).__name__}"
    )


def _setting(name: str, value: Any, source: str) -> Any:
    """One checked settings value (JSON null floats become infinity)."""
    if name not in _KINDS:
        raise SettingsFileError(
            f"{source}: unknown settings key {name!r} (value {value!r}); "
            f"known keys: {', '.join(_KINDS)}"
        )
    kind = _KINDS[name]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "float": value is None or number,
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "str | None": value is None or isinstance(value, str),
    }[kind]
    if not ok:
        raise SettingsFileError(
            f"{source}: settings key {name!r} must be {_EXPECTED[kind]}, got {value!r}"
        )
    if kind == "float":
        value = math.inf if value is None else float(value)
    try:
        value = check_setting(name, value)
    except (TypeError, ValueError) as err:
        raise SettingsFileError(f"{source}: settings key {name!r}: {err}") from None
    return value


def _check_geometry(values: Mapping[str, Any], source: str) -> None:
    """The segmented detector of ``values`` when both radii are given (else checked later)."""
    if "inner" not in values or "outer" not in values:
        return
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    try:
        SegmentedDetector(
            values["inner"],
            values["outer"],
            values.get("segments", defaults["segments"]),
            rotation=values.get("rotation", defaults["rotation"]),
        )
    except (TypeError, ValueError) as err:
        raise SettingsFileError(
            f"{source}: settings keys 'inner' = {values['inner']!r}, "
            f"'outer' = {values['outer']!r}: {err}"
        ) from None


def _origin(origin: Any, name: str) -> tuple[float, float] | None:
    """``None`` or a pair (qx, qy) of finite, non-negative pixel coordinates, as floats."""
    if origin is None:
        return None
    numbers_only = isinstance(origin, (list, tuple)) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in origin
    )
    if not numbers_only or len(origin) != 2:
        raise TypeError(f"{name} must be null or a pair [qx, qy] of pixels, got {origin!r}")
    pair = float(origin[0]), float(origin[1])
    if not all(math.isfinite(v) and v >= 0 for v in pair):
        raise ValueError(f"{name} must be a pair [qx, qy] of pixels >= 0, got {origin!r}")
    return pair


def _calibration(record: Any, name: str) -> dict[str, Any]:
    """A checked calibration record: exactly the keys of :data:`_CALIBRATION_KEYS`."""
    if not isinstance(record, Mapping) or set(record) != set(_CALIBRATION_KEYS):
        raise TypeError(
            f"{name} must be an object with the keys {sorted(_CALIBRATION_KEYS)}, got {record!r}"
        )
    out: dict[str, Any] = {}
    for key, expected in _CALIBRATION_KEYS.items():
        value = record[key]
        if expected.startswith("a string"):
            ok = isinstance(value, str)
        else:
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = (number and math.isfinite(value) and value > 0) or (
                value is None and key == "energy"
            )
        if not ok:
            raise ValueError(f"{name} key {key!r} must be {expected} (> 0), got {value!r}")
        out[key] = float(value) if isinstance(value, numbers.Real) else value
    return out


def _jsonable(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (write null for infinity)")
