"""The DECTRIS receiver's process: LiberTEM-live's ``libertem_dectris`` connection and decoder.

:class:`~dpc_widgets.live.dectris.DectrisSource` starts :func:`run` in a child process (spawned)
that owns the receiver: it waits for each arm, asks the source for the scan's spool file when
the first frames come (their shape and type decide it), decodes every stack of compressed
frames straight into that file (a shared memory map: the source reads the same pages) and says
how many frames are written. A process, not a thread: the receiver's ``get_next_stack`` blocks
until the detector sends and cannot be interrupted from another thread, and its decoder holds
the GIL (LiberTEM-rs 0.3); here a silent detector or closing the source ends the process, and
decoding takes neither the kernel's GIL nor its core. It ends by itself when its parent is gone.

Messages to the source: ``("ready", None)``, ``("arm", (frames, series))``, ``("frames?",
(height, width, dtype))`` (answered with ``("spool", (path, n_frames))`` or ``("skip",
None)``), ``("frames", written)``, ``("end", None)`` (the series is complete), ``("fault",
text)`` (this acquisition failed; the receiver listens for the next arm), ``("fatal", text)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Seconds between looks at whether the parent process is still there, while waiting.
PARENT_CHECK_S = 1.0
#: Frames per stack the receiver fills before handing it over (LiberTEM-live's default).
FRAME_STACK_SIZE = 24


class DecodeError(RuntimeError):
    """Frames could not be decoded (garbled or truncated compressed data)."""


def run(
    uri: str,
    handle_path: str,
    num_slots: int,
    bytes_per_frame: int,
    frames_per_stack: int,
    pipe: Any,
    helpers: tuple = (),
) -> None:
    """Receive acquisitions from ``uri`` until the parent is gone (see the module docstring);
    ``helpers``: job pipes of :func:`decode_worker` processes sharing the decoding."""
    from .._extras import import_receiver

    parent = os.getppid()
    try:
        receiver = import_receiver("libertem_dectris", "dpc_widgets.live.connect('dectris')")
        conn = receiver.DectrisConnection(
            uri=uri,
            frame_stack_size=FRAME_STACK_SIZE,
            handle_path=handle_path,
            num_slots=num_slots,
            bytes_per_frame=bytes_per_frame,
        )
        conn.start_passive()
        decoder = receiver.CamClient(conn.get_socket_path())
        for helper in helpers:
            helper.send(("attach", conn.get_socket_path()))
        pipe.send(("ready", None))
    except Exception as err:
        pipe.send(("fatal", f"{type(err).__name__}: {err}"))
        return
    try:
        while os.getppid() == parent:
            armed = conn.wait_for_arm(PARENT_CHECK_S)
            if armed is None:
                continue
            config, series = armed
            pipe.send(("arm", (int(config.get_num_frames()), int(series))))
            try:
                _acquisition(conn, decoder, pipe, frames_per_stack, helpers)
            except (BrokenPipeError, EOFError):
                raise
            except Exception as err:
                pipe.send(("fault", f"{type(err).__name__}: {err}"))
                conn.start_passive()
    except (BrokenPipeError, EOFError):  # the source is gone
        pass
    except Exception as err:
        pipe.send(("fatal", f"{type(err).__name__}: {err}"))
    finally:
        for close in (decoder.close, conn.close):
            try:
                close()
            except Exception:  # noqa: S110 - closing after a fault that closed it already
                pass


def _acquisition(conn: Any, decoder: Any, pipe: Any, frames_per_stack: int, helpers: tuple) -> None:
    """One series: its stacks decoded into the spool the source names, by this process and
    the helpers in turn; ``("end", frames handed out)`` when the series is complete."""
    job: tuple | None = None  # where the frames go, once asked
    written = turn = 0  # frames handed out; stacks decoded
    while True:
        stack = conn.get_next_stack(max_size=frames_per_stack)
        if stack is None:
            pipe.send(("end", written))
            return
        if job is None:
            job = _spool(stack, pipe) or ()  # (): skip this series
        take = min(len(stack), job[1] - written) if job else 0
        slot = turn % (len(helpers) + 1) if take else 0  # 0: this process decodes
        turn += bool(take)
        if slot:
            helpers[slot - 1].send(("decode", (*job, written, take, bytes(stack.serialize()))))
        else:
            try:
                if take:
                    _decode(decoder, stack, *job, written, take)
                    pipe.send(("decoded", (job[0], written, take)))
            except DecodeError as err:
                pipe.send(("fault", f"{type(err).__name__}: {err}"))
            finally:
                decoder.done(stack)
        written += take


def _decode(
    decoder: Any,
    stack: Any,
    path: str,
    n_frames: int,
    shape: tuple,
    dtype: str,
    start: int,
    take: int,
) -> None:
    """Decode the first ``take`` frames of ``stack`` into frames ``start:`` of the spool."""
    frames = _mapped(path, n_frames, shape, dtype)
    out = frames[start : start + take]
    try:
        decoder.decode_range_into_buffer(stack, out, 0, take)
    except Exception as err:
        raise DecodeError(
            f"frames {start}..{start + take - 1} could not be decoded: {err}"
        ) from err
    if not np.dtype(dtype).isnative:  # pragma: no cover - a stream in the other byte order
        out.byteswap(inplace=True)


_MAPS: dict[str, np.ndarray] = {}


def _mapped(path: str, n_frames: int, shape: tuple, dtype: str) -> np.ndarray:
    """The spool file ``path`` as a writable memory map (the newest one kept open)."""
    if path not in _MAPS:
        _MAPS.clear()
        native = np.dtype(dtype).newbyteorder("=")
        _MAPS[path] = np.memmap(path, dtype=native, mode="r+", shape=(int(n_frames), *shape))
    return _MAPS[path]


def decode_worker(jobs: Any, results: Any) -> None:
    """A helper decoder: decode the stacks the receiver's process hands over (``("decode",
    (path, n_frames, shape, dtype, start, take, handle))``) into the spool, tell the source
    (``("decoded", (path, start, take))`` or ``("fault", text)``); ends with its pipes."""
    from .._extras import import_receiver

    receiver = import_receiver("libertem_dectris", "dpc_widgets.live.connect('dectris')")
    decoder = None
    try:
        while True:
            kind, item = jobs.recv()
            if kind == "attach":
                decoder = receiver.CamClient(item)
                continue
            *job, handle = item
            stack = receiver.FrameStackHandle.deserialize(handle)
            try:
                _decode(decoder, stack, *job)
                results.send(("decoded", (job[0], job[4], job[5])))
            except DecodeError as err:
                results.send(("fault", f"{type(err).__name__}: {err}"))
            finally:
                decoder.done(stack)
    except (BrokenPipeError, EOFError, OSError):  # the source or the receiver is gone
        pass
    finally:
        if decoder is not None:
            decoder.close()


def _spool(stack: Any, pipe: Any) -> tuple | None:
    """Where the scan's frames go, asked from the source: ``(path, n_frames, (height, width),
    dtype)``, or None to skip the series."""
    width, height = (int(n) for n in stack.get_shape())
    dtype = np.dtype(stack.get_dtype_string()).str
    pipe.send(("frames?", (height, width, dtype)))
    kind, item = pipe.recv()
    if kind != "spool":
        return None
    path, n_frames = item
    return (path, int(n_frames), (height, width), dtype)
