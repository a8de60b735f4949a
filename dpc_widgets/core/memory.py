"""Memory budget of the compute core: every large allocation is checked before it is made.

The default budget is :data:`DEFAULT_FRACTION` of the memory the operating system reports as
available (``psutil.virtual_memory().available``: free plus reclaimable page cache) at the
moment the allocation is checked. A budget can also be given in bytes (``DPC(cube,
memory_budget=...)``). An allocation over budget raises :class:`CacheMemoryError` naming the
sizes, instead of a bare ``MemoryError`` or the kernel being killed by the operating system.
"""

from __future__ import annotations

import numbers

import psutil

DEFAULT_FRACTION = 0.4  # of available memory: the cache plus the rest stays under half the RAM


class CacheMemoryError(MemoryError):
    """An allocation the memory budget does not allow (a ``MemoryError``).

    Attributes
    ----------
    needed : int
        Bytes the allocation would take.
    budget : int
        Bytes allowed.
    """

    def __init__(self, message: str, needed: int, budget: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget


def budget_bytes(memory_budget: int | None) -> int:
    """The budget in bytes: ``memory_budget`` as given, or the default fraction of available.

    Raises
    ------
    TypeError
        If ``memory_budget`` is not an integer number of bytes (or None).
    ValueError
        If it is not positive.
    """
    if memory_budget is None:
        return int(DEFAULT_FRACTION * psutil.virtual_memory().available)
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, numbers.Integral):
        raise TypeError(f"memory_budget must be a number of bytes (int), got {memory_budget!r}")
    if memory_budget < 1:
        raise ValueError(f"memory_budget must be at least 1 byte, got {memory_budget!r}")
    return int(memory_budget)


def check_allocation(needed: int, memory_budget: int | None, what: str, ways_out: str) -> None:
    """Raise :class:`CacheMemoryError` when ``needed`` bytes exceed the budget.

    Parameters
    ----------
    needed : int
        Bytes about to be allocated.
    memory_budget : int or None
        See :func:`budget_bytes`.
    what : str
        What the allocation is for (named in the message).
    ways_out : str
        What the user can do instead (named in the message).
    """
    budget = budget_bytes(memory_budget)
    if needed > budget:
        source = (
            f"{DEFAULT_FRACTION:.0%} of the {format_bytes(int(budget / DEFAULT_FRACTION))} "
            "available now"
            if memory_budget is None
            else "memory_budget"
        )
        raise CacheMemoryError(
            f"{what} needs {format_bytes(needed)}, over the memory budget of "
            f"{format_bytes(budget)} ({source}); {ways_out}",
            needed,
            budget,
        )


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable string (binary prefixes: ``"1.5 GiB"``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
