"""Event loops for tests: each scenario on a thread of its own, whatever loop the main thread runs.

The browser tests' Playwright keeps an asyncio loop running on the main thread for the rest of
the session, so code that looks for a running loop behaves differently there; these helpers give
each test a thread with no loop, or with a loop of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


def run_on_own_thread(function: Callable[[], Any]) -> Any:
    """``function()`` on a new thread (no event loop running there); its result or its error."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(function())
        except BaseException as err:  # noqa: BLE001 - re-raised on the test's thread
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def run_in_own_loop(scenario: Callable[[], Any]) -> Any:
    """``asyncio.run(scenario())`` on a thread of its own; its result or its error."""
    return run_on_own_thread(lambda: asyncio.run(scenario()))
