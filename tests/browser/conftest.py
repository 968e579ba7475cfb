"""JupyterLab from this environment and Debian's headless Chromium, for make test-browser."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "build" / "screenshots"
TEST_SETTINGS = {  # offline: no news or update checks; every cell in the DOM, none virtualized
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 with a random port and token over a copy of notebooks/."""

    def __init__(self, root: Path) -> None:
        self.root, self.port, self.token = root, _free_port(), secrets.token_hex(16)
        self.runtime = root.parent / "runtime"
        settings = root.parent / "user-settings"
        for name, value in TEST_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(value))
        env = {**os.environ, "COMPRESS_PROFILE": "quick", "JUPYTER_RUNTIME_DIR": str(self.runtime),
               "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(root.parent / "workspaces")}
        args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = (root.parent / "lab.log").open("w")
        self.process = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path: str, method: str = "GET") -> object:
        """JSON from the server's REST API (`path` after /, e.g. api/kernels)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float = 120) -> None:
        """Block until the server answers, or fail with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.api("api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("JupyterLab did not start:\n" + self.log_text())

    def log_text(self) -> str:
        """The server's output so far."""
        self.log.flush()
        return Path(self.log.name).read_text()

    def url(self, notebook: str) -> str:
        """The address that opens `notebook` alone in JupyterLab (a fresh workspace), token
        included."""
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?reset&token={self.token}"

    def kernel_processes(self) -> list[int]:
        """PIDs of live processes started with a connection file of this server's runtime dir."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if str(self.runtime) in cmdline:
                    pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        """Shut down every kernel through the API, then the server process itself."""
        try:
            if self.process.poll() is None:
                for kernel in self.api("api/kernels"):
                    self.api(f"api/kernels/{kernel['id']}", method="DELETE")
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C, so that pytest still runs the fixtures' teardown."""
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running JupyterLab over a fresh copy of the notebooks; stopped, kernels and all, after."""
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = Lab(root)
    stop_on_term = signal.signal(signal.SIGTERM, _interrupt)  # teardown runs on SIGTERM too
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, stop_on_term)
    deadline = time.monotonic() + 20
    while server.kernel_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not server.kernel_processes(), "a kernel outlived the server"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """build/screenshots/, created."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
