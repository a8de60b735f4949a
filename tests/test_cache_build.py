"""Background builds of the detector cache in the explorer (inside a running event loop)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from _loops import run_in_own_loop

import dpc_widgets
from dpc_widgets.widgets import Explorer
from dpc_widgets.widgets import explorer as explorer_module


@pytest.fixture(scope="module")
def sim_cube():
    return dpc_widgets.simulate().cube


async def until(condition, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def opened(cube, **options) -> Explorer:
    """An explorer in background mode once the cache behind its first view is built."""
    explorer = Explorer(cube, background=True, **options)
    await until(lambda: not explorer.building)
    return explorer


def test_the_first_view_streams_and_the_cache_fills_behind_it(sim_cube):
    async def scenario():
        explorer = Explorer(sim_cube, background=True)
        first = explorer.results
        assert first is not None and "updated in" in explorer.status.value
        assert explorer.dpc._streamed is not None  # one streaming pass, no cache yet
        assert explorer.dpc.cached_radius is None and "cached" not in explorer.status.value
        assert explorer.view.cache_radius == 0.0  # no dashed cache ring before a cache
        assert explorer.building and explorer._build.box.layout.visibility == "visible"
        await until(lambda: not explorer.building)
        assert explorer.dpc.cache_ready(explorer.dpc.origin, explorer.outer.value)
        assert explorer.results is first  # the same settings: the memoised first view
        expected = dpc_widgets.DPC(sim_cube, stream_first=False).run(
            explorer.settings.detector(), **explorer.settings.run_kwargs()
        )
        for name in ("segment_images", "com", "phase"):
            np.testing.assert_array_equal(getattr(first, name), getattr(expected, name))
        explorer.inner.value = explorer.inner.value + 0.5  # now answered by the cache
        assert explorer.results is not first and "updated in" in explorer.status.value

    run_in_own_loop(scenario)


def test_a_radius_beyond_the_cache_builds_in_the_background(sim_cube):
    async def scenario():
        explorer = await opened(sim_cube)
        radius = explorer.dpc.cached_radius
        first = explorer.results
        assert np.isfinite(radius) and explorer.outer.value < radius
        explorer.outer.value = round(1.5 * radius, 1)  # beyond: a new cache, built in a thread
        assert explorer.results is first  # the last images stay while it builds
        assert "building the detector cache" in explorer.status.value
        assert explorer._build.busy and explorer._build.box.layout.visibility == "visible"
        await until(lambda: explorer.results is not first)
        assert explorer._build.box.layout.visibility == "hidden"
        assert explorer.dpc.cached_radius >= 1.5 * radius
        expected = dpc_widgets.DPC(sim_cube, cache_radius=np.inf).segment_images(
            explorer.settings.detector()
        )
        np.testing.assert_array_equal(explorer.results.segment_images, expected)
        status = explorer.status.value
        assert "updated in" in status
        if np.isfinite(explorer.dpc.cached_radius):  # the status line says what is cached
            assert explorer.view.cache_radius == explorer.dpc.cached_radius  # its ring
            units = sim_cube.detector_units
            radius = f"{explorer.dpc.cached_radius:.3g} {units}"  # in users' words, and the
            seconds = explorer._build.seconds  # the cost of a pass: the build's, measured
            assert f"radii up to {radius} answer at once; beyond that one pass of about " in status
            assert f"one pass of about {explorer_module._duration(seconds)};" in status

    run_in_own_loop(scenario)


def test_updates_the_old_cache_covers_are_answered_during_a_build(sim_cube, monkeypatch):
    async def scenario():
        loop = asyncio.get_running_loop()
        explorer = await opened(sim_cube)
        old = explorer.dpc._engine
        release = asyncio.Event()
        real_build = explorer.dpc.build_cache

        def slow_build(*args, **kwargs):  # a long pass: until the test releases it
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=60)
            real_build(*args, **kwargs)

        monkeypatch.setattr(explorer.dpc, "build_cache", slow_build)
        outer = explorer.outer.value
        explorer.outer.value = round(1.5 * old.cache_radius, 1)  # beyond: build starts
        await asyncio.sleep(0.05)
        assert explorer._build.busy
        waiting = explorer.results
        explorer.outer.value = round(outer - 1.0, 1)  # within the old cache: answered now
        assert explorer.results is not waiting and explorer.dpc._engine is old
        assert explorer.results.segment_images.shape[0] == explorer.segments.value
        assert explorer._build.busy
        release.set()
        await until(lambda: not explorer._build.busy and explorer._build._target is None)
        assert explorer.dpc._engine is not old  # the wider cache is installed after all
        assert explorer.dpc.cached_radius > old.cache_radius
        assert explorer.dpc._engine.center == explorer.dpc.origin

    run_in_own_loop(scenario)


def test_a_failed_background_build_is_reported(sim_cube, monkeypatch):
    async def scenario():
        explorer = await opened(sim_cube)

        def failing(*args, **kwargs):
            raise MemoryError("no room for the cache")

        monkeypatch.setattr(explorer.dpc, "build_cache", failing)
        explorer.outer.value = round(1.5 * explorer.dpc.cached_radius, 1)
        await until(lambda: not explorer._build.busy and explorer._build._target is None)
        assert "building the detector cache failed: MemoryError: no room" in explorer.status.value

    run_in_own_loop(scenario)


def test_outside_a_kernel_builds_are_synchronous_even_with_a_running_loop(sim_cube):
    async def scenario():
        explorer = Explorer(sim_cube)  # default: background only inside a Jupyter kernel
        assert not explorer.building and explorer.dpc._engine is None  # first view: streamed
        radius = explorer.dpc.plan_cache_radius(explorer.dpc.origin)
        explorer.outer.value = round(1.5 * radius, 1)
        assert not explorer.building
        assert explorer.results.detector.outer == explorer.outer.value
        assert explorer.dpc.cached_radius >= 1.5 * radius

    run_in_own_loop(scenario)


def test_a_build_started_when_another_ends_stays_active(sim_cube):
    async def scenario():
        explorer = await opened(sim_cube)
        explorer.origin_qx.value = explorer.origin_qx.value + 1.0  # build for centre A starts
        assert explorer.building
        explorer.origin_qx.value = explorer.origin_qx.value + 1.0  # B: waits for A to end
        # When A ends (its cache no longer fits the cube) the update starts B's build, which
        # must count as building until it has ended too.
        await until(lambda: explorer.dpc.cache_ready(explorer.dpc.origin) or not explorer.building)
        assert explorer.dpc.cache_ready(explorer.dpc.origin)
        await until(lambda: not explorer.building)
        assert explorer.dpc._engine.center == explorer.dpc.origin

    run_in_own_loop(scenario)
