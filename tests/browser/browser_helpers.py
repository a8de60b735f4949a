"""Helpers for the real-browser tests: server processes, the network guard, page utilities.

Everything here runs against servers bound to 127.0.0.1 and a headless Chromium whose requests
to any other host are aborted (and recorded) by :class:`NetworkGuard`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
#: The checkout these tests belong to: its ``dpc_widgets`` is what the servers' kernels import.
REPO = Path(__file__).resolve().parents[2]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {LOOPBACK}",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """Map of parent pid -> child pids, read from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; the ppid follows the closing paren.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (kernels run in their own sessions, so track them)."""
    tree = _children()
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _answers(port: int, url: str | None) -> bool:
    try:
        if url is None:
            socket.create_connection((LOOPBACK, port), timeout=2).close()
            return True
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclasses.dataclass
class ServerProcess:
    """A Jupyter-family server started in its own process session, logging to a file.

    Attributes
    ----------
    name : str
        "jupyterlab", "notebook7" or "voila" (for messages; see :data:`JUPYTER_APPS`).
    url : str
        Base URL, ``http://127.0.0.1:<port>/``.
    proc : subprocess.Popen
        The server process (also its process-group leader).
    log : pathlib.Path
        Combined stdout and stderr of the server.
    """

    name: str
    url: str
    proc: subprocess.Popen
    log: Path

    @classmethod
    def start(
        cls,
        name: str,
        cmd: list[str],
        *,
        port: int,
        env: dict,
        cwd: Path,
        log: Path,
        probe: str | None = None,
    ) -> ServerProcess:
        """Start ``cmd`` and wait until it is ready (see :meth:`wait_ready`, 60 s at most)."""
        handle = log.open("wb")
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        server = cls(name=name, url=f"http://{LOOPBACK}:{port}/", proc=proc, log=log)
        server.wait_ready(probe=probe)
        return server

    def log_tail(self, chars: int = 4000) -> str:
        """The last ``chars`` characters of the server log."""
        return self.log.read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout: float = 60.0, probe: str | None = None) -> None:
        """Wait until the server accepts connections and, if ``probe`` is given, answers a GET
        on ``url + probe`` with a status below 500 (Voila runs the notebook on a GET of ``/``,
        so it is probed by a bare TCP connection)."""
        port = int(urlsplit(self.url).port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            if _answers(port, None if probe is None else self.url + probe):
                return
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer on {self.url}:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> list[int]:
        """SIGTERM the process group, wait for it and every descendant to exit.

        Returns the pids that were still alive after ``timeout`` (then killed with SIGKILL),
        so the caller can assert a clean shutdown.
        """
        pgid = self.proc.pid
        tracked = [self.proc.pid, *descendants(self.proc.pid)]
        if self.proc.poll() is None:
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.proc.poll()
            if not _group_alive(pgid) and not any(alive(pid) for pid in tracked):
                return []
            time.sleep(0.1)
        stragglers = [pid for pid in tracked if alive(pid)]
        for pid in stragglers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        return stragglers or [pgid]


def shutdown_sessions(server: ServerProcess) -> int:
    """Shut down every kernel session of a Jupyter server (REST API); return how many."""
    with urllib.request.urlopen(f"{server.url}api/sessions", timeout=10) as reply:
        sessions = json.load(reply)
    for session in sessions:
        request = urllib.request.Request(
            f"{server.url}api/sessions/{session['id']}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()
    return len(sessions)


def write_jupyter_dirs(base: Path) -> dict[str, str]:
    """Config, data, runtime, settings and workspace dirs for a sealed test server.

    Returns the environment variables that point Jupyter at them. The server config allows root
    (CI runs as root), uses an empty token and no XSRF check (test servers on 127.0.0.1 only),
    and turns off news and update checks; the Lab user settings start the default kernel
    without a dialog.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "IPYTHONDIR": base / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    server_config = {
        # disable_check_xsrf: lets the tests shut kernels down over REST without a browser
        "ServerApp": {
            "allow_root": True,
            "open_browser": False,
            "password": "",
            "disable_check_xsrf": True,
        },
        "IdentityProvider": {"token": ""},
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "expose_app_in_browser": True,
        },
        "JupyterNotebookApp": {"expose_app_in_browser": True},
    }
    (dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(
        json.dumps(server_config, indent=1)
    )
    settings = {
        "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, values in settings.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return {key: str(value) for key, value in dirs.items()}


def server_env(jupyter_env: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``jupyter_env``, with this Python's bin dir first and
    this checkout first on ``PYTHONPATH`` (so a git worktree's kernels import its own
    ``dpc_widgets``, not the one the virtual environment was installed from)."""
    env = dict(os.environ)
    env.update(jupyter_env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Jupyter front ends built on the JupyterLab application (both expose ``window.jupyterapp``):
# app name for ``python -m jupyter <app>`` -> (ServerProcess.name, URL path of a notebook).
JUPYTER_APPS = {
    "lab": ("jupyterlab", "lab/tree/{name}?reset"),  # ?reset: no tabs restored from before
    "notebook": ("notebook7", "notebooks/{name}"),
}


def start_jupyter(app: str, root: Path, base: Path) -> ServerProcess:
    """``python -m jupyter <app>`` ("lab" or "notebook", i.e. Notebook 7) serving ``root`` on a
    free 127.0.0.1 port, with its dirs under ``base``."""
    name = JUPYTER_APPS[app][0]
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
    ]
    env = server_env(write_jupyter_dirs(base))
    return ServerProcess.start(
        name, cmd, port=port, env=env, cwd=root, log=base / "server.log", probe="api/status"
    )


def start_classic_notebook(root: Path, base: Path) -> ServerProcess:
    """The classic Notebook (``notebook<7``, Colab's 6.5.7) serving ``root`` on a free 127.0.0.1
    port, with its dirs under ``base``.

    Its ``NotebookApp`` reads no ``jupyter_server_config.json``, so the test-server settings go on
    the command line. Nothing is enabled by hand: the nbextensions that load are those a fresh
    ``pip install`` enabled in the environment (``<prefix>/etc/jupyter/nbconfig/notebook.d``).
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "notebook",
        f"--notebook-dir={root}",
        f"--ip={LOOPBACK}",
        f"--port={port}",
        "--port-retries=0",
        "--no-browser",
        "--allow-root",
        "--NotebookApp.token=",
        "--NotebookApp.password=",
        "--NotebookApp.disable_check_xsrf=True",  # kernels are shut down over REST
    ]
    env = server_env(write_jupyter_dirs(base))
    return ServerProcess.start(
        "classic", cmd, port=port, env=env, cwd=root, log=base / "server.log", probe="api/status"
    )


def start_jupyterlab(root: Path, base: Path) -> ServerProcess:
    """JupyterLab serving ``root`` (see :func:`start_jupyter`)."""
    return start_jupyter("lab", root, base)


def start_voila(notebook: Path, base: Path) -> ServerProcess:
    """Voila rendering ``notebook`` on a free 127.0.0.1 port, with its dirs under ``base``."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--Voila.ip={LOOPBACK}",
        f"--port={port}",
        "--show_tracebacks=True",
    ]
    env = server_env(write_jupyter_dirs(base))
    return ServerProcess.start(
        "voila", cmd, port=port, env=env, cwd=notebook.parent, log=base / "server.log"
    )


def launch_chromium(playwright, executable: str, profile: Path, guard: NetworkGuard, **options):
    """A headless Chromium context with a fresh profile, guarded by ``guard`` (127.0.0.1 only)."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=executable,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 2100},
        device_scale_factor=1,
        **options,
    )
    guard.install(context)
    context.set_default_timeout(60_000)
    return context


@dataclasses.dataclass
class NetworkGuard:
    """Aborts every browser request whose host is not 127.0.0.1 (local ``file:`` URLs pass),
    and records all of them.

    Attributes
    ----------
    allowed : list[str]
        URLs that were let through (all on 127.0.0.1).
    blocked : list[str]
        URLs that were aborted before any connection was made.
    """

    allowed: list[str] = dataclasses.field(default_factory=list)
    blocked: list[str] = dataclasses.field(default_factory=list)

    def install(self, context) -> None:
        """Route every request of a Playwright ``BrowserContext`` through the guard."""
        context.route("**/*", self._handle)

    def _handle(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOOPBACK or urlsplit(url).scheme == "file":
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def non_loopback(self, urls: list[str]) -> list[str]:
        """The URLs of ``urls`` that are not on 127.0.0.1 (data:, blob: and file: excepted)."""
        return [
            url
            for url in urls
            if urlsplit(url).scheme not in ("data", "blob", "file")
            and urlsplit(url).hostname != LOOPBACK
        ]


# ------------------------------------------------- JupyterLab and Notebook 7 page helpers
# Both are JupyterLab applications exposed as ``window.jupyterapp`` (``expose_app_in_browser``);
# in Notebook 7 the shell's current widget is the page's one notebook.
_SESSION_READY_JS = """
() => {
  const app = window.jupyterapp;
  const widget = app && app.shell && app.shell.currentWidget;
  const ctx = widget && widget.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return Boolean(ctx && ctx.isReady && kernel && kernel.connectionStatus === 'connected'
                 && kernel.status === 'idle');
}
"""

# The current notebook's kernel in JupyterLab or Notebook 7.
_KERNEL_JS = """
const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
"""

_KERNEL_IDLE_JS = "() => {" + _KERNEL_JS + "return kernel.status === 'idle'; }"

# Runs code in the current notebook's kernel: JupyterLab / Notebook 7 (``window.jupyterapp``) or
# the classic Notebook (``window.Jupyter.notebook``); resolves once the reply has come and the
# kernel went idle (so every output of the code has arrived), or after ``ms``.
_KERNEL_RUN_JS = """
async ({code, ms}) => {
  let out = '';
  let error = null;
  const onOutput = (msg) => {
    const type = msg.header.msg_type;
    if (type === 'stream' && msg.content.name === 'stdout') { out += msg.content.text; }
    if (type === 'error') { error = msg.content.ename + ': ' + msg.content.evalue; }
  };
  const options = {silent: false, store_history: false};
  let done;
  if (window.jupyterapp) {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code, ...options});
    future.onIOPub = onOutput;
    done = future.done;
  } else {
    done = new Promise((resolve) => {
      let reply = null;
      let idle = false;
      const settle = () => { if (reply && idle) { resolve(reply); } };
      window.Jupyter.notebook.kernel.execute(code, {
        shell: {reply: (msg) => { reply = msg; settle(); }},
        iopub: {
          output: onOutput,
          status: (msg) => { idle = msg.content.execution_state === 'idle'; settle(); },
        },
      }, options);
    });
  }
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  const reply = await Promise.race([done, late]);
  clearTimeout(timer);
  if (reply === null) { return {error: `no reply within ${ms} ms`}; }
  if (error || reply.content.status !== 'ok') { return {error: error || reply.content.status}; }
  return {out};
}
"""


def open_lab_notebook(page, server: ServerProcess, name: str, timeout_ms: int = 60_000) -> None:
    """Open ``name`` in ``server`` (JupyterLab or Notebook 7, see :func:`start_jupyter`) and wait
    until its kernel session is connected and idle.

    The toolbar shows "idle" before the session exists and a Run All issued then is silently
    dropped, so this waits on the session context itself.
    """
    paths = {label: path for label, path in JUPYTER_APPS.values()}
    page.goto(server.url + paths[server.name].format(name=name))
    page.wait_for_function(_SESSION_READY_JS, timeout=timeout_ms, polling=100)


def wait_kernel_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the current notebook's kernel reports idle (JupyterLab or Notebook 7)."""
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_ms, polling=50)


def lab_run_all(page, timeout_ms: int = 180_000) -> bool:
    """Run every cell of the current notebook; return True when all ran without error.

    JupyterLab's run-all command resolves once the kernel has replied to every cell (it stops at
    the first error), so this also waits for the kernel to be idle again.
    """
    ok = page.evaluate(
        "async () => await window.jupyterapp.commands.execute('notebook:run-all-cells')"
    )
    wait_kernel_idle(page, timeout_ms)
    return bool(ok)


def lab_cell_errors(page) -> list[str]:
    """``ename: evalue`` of every error output in the current notebook's model (empty: none)."""
    return page.evaluate(
        """() => {
          const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
          const errors = [];
          for (let i = 0; i < cells.length; i++) {
            const cell = cells.get(i);
            if (cell.type !== 'code') { continue; }
            for (const output of cell.outputs.toJSON()) {
              if (output.output_type === 'error') {
                errors.push(`${output.ename}: ${output.evalue}`);
              }
            }
          }
          return errors;
        }"""
    )


def kernel_exec(page, code: str, timeout_ms: int = 60_000) -> str:
    """Run ``code`` in the current notebook's kernel (no cell is added); return stdout.

    Voila's kernels only accept comm messages from the page, so this is for JupyterLab,
    Notebook 7 and the classic Notebook.
    """
    reply = page.evaluate(_KERNEL_RUN_JS, {"code": code, "ms": timeout_ms})
    if "error" in reply:
        raise RuntimeError(f"kernel code failed: {reply['error']}\n{code}")
    return reply["out"]


def kernel_json(page, expression: str):
    """Evaluate a Python expression in the kernel and return it decoded from JSON."""
    out = kernel_exec(page, f"import json as _j\nprint(_j.dumps({expression}))")
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------ classic Notebook (6.x) helpers
# The classic Notebook exposes ``window.Jupyter.notebook``; its kernel is ready once connected
# with its kernel_info reply stored and the indicator idle.
_CLASSIC_READY_JS = """
() => {
  const nb = window.Jupyter && window.Jupyter.notebook;
  const kernel = nb && nb.kernel;
  const icon = document.querySelector('#kernel_indicator_icon');
  return Boolean(nb && nb._fully_loaded && kernel && kernel.is_connected()
                 && kernel.info_reply && kernel.info_reply.status === 'ok'
                 && icon && icon.classList.contains('kernel_idle_icon'));
}
"""

# Every code cell has run (a prompt number, not '*') and the kernel is idle.
_CLASSIC_ALL_RAN_JS = """
() => {
  const cells = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
  const icon = document.querySelector('#kernel_indicator_icon');
  return cells.every((c) => typeof c.input_prompt_number === 'number')
         && icon.classList.contains('kernel_idle_icon');
}
"""


def open_classic_notebook(page, server: ServerProcess, name: str, timeout_ms: int = 60_000):
    """Open ``name`` in a classic Notebook ``server`` (:func:`start_classic_notebook`) and wait
    until its kernel is connected, has answered kernel_info and is idle."""
    page.goto(f"{server.url}notebooks/{name}")
    page.wait_for_function(_CLASSIC_READY_JS, timeout=timeout_ms, polling=100)


def classic_run_all(page, timeout_ms: int = 180_000) -> None:
    """Run every cell of the classic notebook and wait until all ran and the kernel is idle."""
    page.evaluate("() => window.Jupyter.notebook.execute_all_cells()")
    page.wait_for_function(_CLASSIC_ALL_RAN_JS, timeout=timeout_ms, polling=100)


def classic_cell_errors(page) -> list[str]:
    """``ename: evalue`` of every error output in the classic notebook (empty: none)."""
    return page.evaluate(
        """() => window.Jupyter.notebook.get_cells()
            .filter((cell) => cell.cell_type === 'code')
            .flatMap((cell) => cell.output_area.outputs)
            .filter((output) => output.output_type === 'error')
            .map((output) => `${output.ename}: ${output.evalue}`)"""
    )


def classic_stderr(page) -> list[str]:
    """The text of every stderr stream output in the classic notebook."""
    return page.evaluate(
        """() => window.Jupyter.notebook.get_cells()
            .filter((cell) => cell.cell_type === 'code')
            .flatMap((cell) => cell.output_area.outputs)
            .filter((output) => output.output_type === 'stream' && output.name === 'stderr')
            .map((output) => output.text)"""
    )
