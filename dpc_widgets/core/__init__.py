"""Cached compute core (no widget imports): :class:`DPC` and its pure helpers."""

from .dpc import DPC, DPCResult
from .memory import CacheMemoryError
from .rotation import RotationResult, curl_2d, div_2d, rotate_com, solve_rotation

__all__ = [
    "DPC",
    "CacheMemoryError",
    "DPCResult",
    "RotationResult",
    "curl_2d",
    "div_2d",
    "rotate_com",
    "solve_rotation",
]
