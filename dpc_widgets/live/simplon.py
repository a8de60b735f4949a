"""The DECTRIS SIMPLON zmq stream, made from frames: for LiberTEM-live's DECTRIS simulator, tests
and demonstrations (no detector needed).

A DECTRIS detector control unit (DCU) sends, per acquisition ("series"), over a zmq PUSH socket:
``dheader-1.0`` (JSON: series, ``header_detail``), the detector configuration (JSON:
``ntrigger``, ``nimages``, ``trigger_mode``, ``x_pixels_in_detector``,
``y_pixels_in_detector``, ``bit_depth_image``), then one four-part message per frame
(``dimage-1.0`` JSON: series, frame index from 0, hash; ``dimage_d-1.0`` JSON: ``shape`` =
``[width, height]``, ``type`` (``uint16``/``uint32``), ``encoding`` (``bs32-lz4<``:
bitshuffle-LZ4, little-endian); the compressed frame; ``dconfig-1.0`` JSON: times in ns), and
``dseries_end-1.0``. A compressed frame is the HDF5 bitshuffle filter's chunk (a 12-byte header,
then the LZ4 blocks): the very bytes the DCU's own file writer stores as one chunk of an ARINA
data file, which is how these are made here (``h5py`` with ``hdf5plugin``).

LiberTEM-live's simulator (``libertem_live.detectors.dectris.sim.DectrisSim``) replays a dump of
such a stream: every message as an int64 little-endian length followed by its bytes
(:func:`write_dump`).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

#: Pixel types of the stream, by bit depth.
PIXEL_TYPES = {8: "uint8", 16: "uint16", 32: "uint32"}


def compress_frames(frames: np.ndarray) -> list[bytes]:
    """Each frame of ``frames`` (n, height, width) as the stream's bitshuffle-LZ4 bytes.

    Raises
    ------
    ValueError
        For an array that is not a stack of unsigned 8, 16 or 32-bit frames.
    """
    import h5py
    import hdf5plugin

    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.dtype.kind != "u" or frames.itemsize * 8 not in PIXEL_TYPES:
        raise ValueError(
            f"frames must be (n, height, width) uint8/16/32, got {frames.shape} {frames.dtype}"
        )
    frames = frames.astype(frames.dtype.newbyteorder("<"), copy=False)
    with h5py.File(f"dpc-simplon-{id(frames)}.h5", "w", driver="core", backing_store=False) as f:
        stack = f.create_dataset(
            "frames",
            data=frames,
            chunks=(1, *frames.shape[1:]),
            **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"),
        )
        return [bytes(stack.id.read_direct_chunk((i, 0, 0))[1]) for i in range(len(frames))]


def header_messages(
    n_frames: int, frame_shape: tuple[int, int], dtype: Any, series: int = 1
) -> list[bytes]:
    """``dheader-1.0`` and the detector configuration of a series of ``n_frames`` frames of
    ``frame_shape`` (height, width) pixels (one trigger per frame, ``exte``)."""
    height, width = (int(n) for n in frame_shape)
    return [
        _json({"htype": "dheader-1.0", "header_detail": "basic", "series": int(series)}),
        _json(
            {
                "ntrigger": int(n_frames),
                "nimages": 1,
                "trigger_mode": "exte",
                "x_pixels_in_detector": width,
                "y_pixels_in_detector": height,
                "bit_depth_image": np.dtype(dtype).itemsize * 8,
            }
        ),
    ]


def frame_messages(
    index: int, data: bytes, frame_shape: tuple[int, int], dtype: Any, series: int = 1
) -> list[bytes]:
    """The four parts of frame ``index`` (compressed ``data``, see :func:`compress_frames`)."""
    height, width = (int(n) for n in frame_shape)
    bits = np.dtype(dtype).itemsize * 8
    hashed = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return [
        _json({"htype": "dimage-1.0", "series": int(series), "frame": int(index), "hash": hashed}),
        _json(
            {
                "htype": "dimage_d-1.0",
                "shape": [width, height],
                "type": PIXEL_TYPES[bits],
                "encoding": f"bs{bits}-lz4<",
            }
        ),
        data,
        _json({"htype": "dconfig-1.0", "start_time": 0, "stop_time": 0, "real_time": 0}),
    ]


def footer_message(series: int = 1) -> bytes:
    """``dseries_end-1.0``: the series is over."""
    return _json({"htype": "dseries_end-1.0", "series": int(series)})


def write_dump(path: str | Path, frames: np.ndarray, series: int = 1) -> Path:
    """A stream dump of one series of ``frames`` (n, height, width) for LiberTEM-live's
    simulator; returns the path."""
    frames = np.asarray(frames)
    path = Path(path)
    shape, dtype = frames.shape[1:], frames.dtype
    with path.open("wb") as out:
        for message in header_messages(len(frames), shape, dtype, series):
            write_record(out, message)
        for index, data in enumerate(compress_frames(frames)):
            for message in frame_messages(index, data, shape, dtype, series):
                write_record(out, message)
        write_record(out, footer_message(series))
    return path


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode("utf-8")


def write_record(out: Any, message: bytes) -> None:
    """One message of a dump: its length (int64, little-endian), then its bytes."""
    out.write(struct.pack("<q", len(message)))
    out.write(message)
