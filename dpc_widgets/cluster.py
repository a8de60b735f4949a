"""A ``dask.distributed`` client for batch runs: ``--scheduler ADDRESS`` or ``--workers N``.

:mod:`distributed` (the ``[cluster]`` extra: ``pip install "dpc-widgets[cluster]"``) is
imported only when a client is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._extras import import_distributed
from .physics import integer_at_least


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A client for the duration of the block, or ``None`` when neither option is given.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``): ``distributed.Client(scheduler)``.
    workers : int, optional
        Start a ``distributed.LocalCluster(n_workers=workers)`` and connect to it.

    Yields
    ------
    distributed.Client or None
        Closed on leaving the block (the local cluster shut down).

    Raises
    ------
    ValueError
        If both are given, or ``workers`` is below 1 (TypeError: not an integer).
    dpc_widgets._extras.ClusterExtraError
        (an ``ImportError``) If :mod:`distributed` is not installed: it names
        ``pip install "dpc-widgets[cluster]"``.
    """
    if scheduler is not None and workers is not None:
        raise ValueError(
            f"give a scheduler address or a number of workers, not both "
            f"(got {scheduler!r} and {workers!r})"
        )
    if scheduler is None and workers is None:
        yield None
        return
    n_workers = None if workers is None else integer_at_least(workers, "workers", 1)
    option = "--scheduler" if scheduler is not None else "--workers"
    distributed = import_distributed(f"a dask cluster (dpc-widgets process {option})")
    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    with distributed.LocalCluster(n_workers=n_workers) as cluster:
        with distributed.Client(cluster) as client:
            yield client
