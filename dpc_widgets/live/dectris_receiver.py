"""The DECTRIS receiver's process: LiberTEM-live's ``libertem_dectris`` connection, on its own.

:class:`~dpc_widgets.live.dectris.DectrisSource` starts :func:`run` in a child process (spawned)
that owns the receiver: it waits for each arm and hands the frame stacks (handles to compressed
frames in the receiver's shared memory, serialized) to the source through a pipe; the source
decodes them into the scan and frees them. A process, not a thread, because the receiver's
``get_next_stack`` blocks until the detector sends and cannot be interrupted from another thread
(LiberTEM-rs 0.3): a detector gone silent mid-scan, or closing the source, ends the process
instead. It ends by itself when its parent is gone.

Messages to the source: ``("ready", socket_path)``, ``("arm", (frames, series))``,
``("stack", bytes)``, ``("end", None)`` (the series is complete), ``("fault", text)`` (this
acquisition failed; the receiver listens for the next arm), ``("fatal", text)``.
"""

from __future__ import annotations

import os
from typing import Any

#: Seconds between looks at whether the parent process is still there, while waiting.
PARENT_CHECK_S = 1.0
#: Frames per stack the receiver fills before handing it over (LiberTEM-live's default).
FRAME_STACK_SIZE = 24


def run(
    uri: str,
    handle_path: str,
    num_slots: int,
    bytes_per_frame: int,
    frames_per_stack: int,
    out: Any,
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
        out.send(("ready", conn.get_socket_path()))
    except Exception as err:
        out.send(("fatal", f"{type(err).__name__}: {err}"))
        return
    try:
        while os.getppid() == parent:
            armed = conn.wait_for_arm(PARENT_CHECK_S)
            if armed is None:
                continue
            config, series = armed
            out.send(("arm", (int(config.get_num_frames()), int(series))))
            try:
                while True:
                    stack = conn.get_next_stack(max_size=frames_per_stack)
                    if stack is None:
                        out.send(("end", None))
                        break
                    out.send(("stack", bytes(stack.serialize())))
            except (BrokenPipeError, EOFError):
                raise
            except Exception as err:
                out.send(("fault", str(err)))
                conn.start_passive()
    except (BrokenPipeError, EOFError):  # the source is gone
        pass
    except Exception as err:
        out.send(("fatal", f"{type(err).__name__}: {err}"))
    finally:
        try:
            conn.close()
        except Exception:  # noqa: S110 - closing after a fault that closed it already
            pass
