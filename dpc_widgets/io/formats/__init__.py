"""The readable formats, one small adapter module per reader family, and format detection.

:data:`FORMATS` is the registry, in detection order: for an extension several formats share
(``.h5``, ``.emd``, ...), the first whose ``sniff`` recognises the content wins, and a format
without ``sniff`` is the fallback. ``format=`` picks one by name.
"""

from __future__ import annotations

from pathlib import Path

from . import (
    arina,
    blockfile,
    digitalmicrograph,
    empad,
    fpd,
    hdf5,
    hyperspy,
    merlin,
    mrc,
    numpy_files,
    prismatic,
    tia,
    topspin,
    tvips,
    velox,
    zarr_store,
)
from .base import Format, FormatError, Opened, OpenOptions

FORMATS: tuple[Format, ...] = (
    *numpy_files.FORMATS,
    *arina.FORMATS,
    *fpd.FORMATS,
    *velox.FORMATS,
    *prismatic.FORMATS,
    *hdf5.FORMATS,
    *hyperspy.FORMATS,
    *digitalmicrograph.FORMATS,
    *tia.FORMATS,
    *merlin.FORMATS,
    *blockfile.FORMATS,
    *empad.FORMATS,
    *tvips.FORMATS,
    *mrc.FORMATS,
    *topspin.FORMATS,
    *zarr_store.FORMATS,
)
FORMAT_NAMES = tuple(spec.name for spec in FORMATS)


def extensions() -> tuple[str, ...]:
    """Every extension some format reads, in registry order, without repeats."""
    return tuple(dict.fromkeys(ext for spec in FORMATS for ext in spec.extensions))


def formats_table() -> str:
    """The formats table as Markdown (``docs/formats.md`` holds it; a test keeps them equal)."""
    lines = [
        "| `format=` | format | extensions | lazy | calibrations read | orientation |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in FORMATS:
        exts = ", ".join(f"`{ext}`" for ext in spec.extensions)
        lines.append(
            f"| `{spec.name}` | {spec.title} | {exts} | {'yes' if spec.lazy else 'no'} | "
            f"{spec.calibrations} | {spec.orientation} |"
        )
    return "\n".join(lines)


def find_format(path: Path, name: str | None = None) -> Format:
    """The format of ``path``: by ``name`` if given, else by extension and then content.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        For an unknown ``name`` or an extension no format reads (both list what is known).
    """
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"format must be a string, got {name!r}")
        for spec in FORMATS:
            if spec.name == name:
                return spec
        raise ValueError(f"unknown format {name!r}; known formats: {', '.join(FORMAT_NAMES)}")
    suffix = path.suffix.lower()
    candidates = [spec for spec in FORMATS if suffix in spec.extensions]
    if not candidates:
        raise ValueError(
            f"unsupported file extension {path.suffix!r} of '{path}'; "
            f"supported: {', '.join(extensions())}; or pass format=<name>"
        )
    for spec in candidates:
        if spec.sniff is None or spec.sniff(path):
            return spec
    return candidates[-1]


__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "Format",
    "FormatError",
    "OpenOptions",
    "Opened",
    "extensions",
    "find_format",
    "formats_table",
]
