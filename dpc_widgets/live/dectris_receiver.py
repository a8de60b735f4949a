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
) -> None:
    """Receive acquisitions from ``uri`` until the parent is gone (see the module docstring)."""
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
                _acquisition(conn, decoder, pipe, frames_per_stack)
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


def _acquisition(conn: Any, decoder: Any, pipe: Any, frames_per_stack: int) -> None:
    """One series: decode its stacks into the spool the source names; ``("end", None)``."""
    frames, swap = None, False
    written = 0
    failed = False
    while True:
        stack = conn.get_next_stack(max_size=frames_per_stack)
        if stack is None:
            pipe.send(("end", None))
            return
        try:
            if frames is None and not failed:
                frames, swap = _spool(stack, pipe)
                failed = frames is None
            take = 0 if failed else min(len(stack), len(frames) - written)
            if take > 0:
                out = frames[written : written + take]
                try:
                    decoder.decode_range_into_buffer(stack, out, 0, take)
                except Exception as err:
                    failed = True
                    raise DecodeError(
                        f"frames {written}..{written + take - 1} could not be decoded: {err}"
                    ) from err
                if swap:  # pragma: no cover - a stream in the other byte order
                    out.byteswap(inplace=True)
                written += take
                pipe.send(("frames", written))
        except DecodeError as err:  # this acquisition ends; its other stacks are dropped
            pipe.send(("fault", f"{type(err).__name__}: {err}"))
        finally:
            decoder.done(stack)


def _spool(stack: Any, pipe: Any) -> tuple[np.ndarray | None, bool]:
    """The scan's frames (a writable memory map, asked from the source; None to skip) and
    whether decoded pixels need their bytes swapped."""
    width, height = (int(n) for n in stack.get_shape())
    dtype = np.dtype(stack.get_dtype_string())
    pipe.send(("frames?", (height, width, dtype.str)))
    kind, item = pipe.recv()
    if kind != "spool":
        return None, False
    path, n_frames = item
    native = dtype.newbyteorder("=")
    frames = np.memmap(path, dtype=native, mode="r+", shape=(int(n_frames), height, width))
    return frames, not dtype.isnative
