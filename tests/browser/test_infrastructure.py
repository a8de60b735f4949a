"""The browser-test machinery itself: the network guard blocks and records, servers stop cleanly."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest
from browser_helpers import LOOPBACK, alive, descendants, start_jupyterlab

pytestmark = pytest.mark.browser


def test_guard_blocks_and_records_other_hosts(page, network_guard, lab_process):
    local = f"{lab_process.url}api/status"
    page.set_content(
        f'<link rel="stylesheet" href="https://cdn.jsdelivr.net/x.css"><img src="{local}">'
    )
    outcome = page.evaluate(
        """async () => {
          try { await fetch('http://example.com/probe.js'); return 'fetched'; }
          catch (error) { return 'failed'; }
        }"""
    )
    assert outcome == "failed"
    assert sorted(network_guard.blocked) == [
        "http://example.com/probe.js",
        "https://cdn.jsdelivr.net/x.css",
    ]
    assert network_guard.allowed == [local]
    assert network_guard.non_loopback(network_guard.allowed) == []


def test_lab_server_and_its_kernels_stop_on_sigterm(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    server = start_jupyterlab(root, tmp_path / "lab")
    request = urllib.request.Request(
        f"{server.url}api/kernels",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert json.load(reply)["id"]
    deadline = time.monotonic() + 30
    while not descendants(server.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    processes = [server.proc.pid, *descendants(server.proc.pid)]
    assert len(processes) >= 2, "the kernel process did not start"

    assert server.stop() == [], "processes had to be killed after SIGTERM"
    assert [pid for pid in processes if alive(pid)] == []
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(OSError), socket.create_connection((LOOPBACK, port), timeout=2):
        pass
