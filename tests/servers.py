"""Real servers for tests: a subprocess on a free loopback port, up when its URL answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def free_port() -> int:
    """A port nothing listens on (the OS picks it; a test may bind it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackProcess:
    """Start `cmd`, wait until `ready_url` answers (any HTTP status), stop it on exit."""

    def __init__(self, cmd: list[str], ready_url: str, log_path: Path, env: dict | None = None,
                 startup_s: float = 240):
        self.cmd, self.ready_url, self.log_path = cmd, ready_url, Path(log_path)
        self.env, self.startup_s, self.proc = env, startup_s, None

    def __enter__(self):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_s
        while True:
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2):
                    return self
            except urllib.error.HTTPError:  # up, but asking for a password (or a 404)
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    pytest.fail(f"{' '.join(self.cmd[1:3])} did not start:\n{self.log()[-3000:]}")
                time.sleep(0.3)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class AppServer(LoopbackProcess):
    """`python app.py` on a free port (default host) over its own corpus copy and index."""

    def __init__(self, base: Path, *args: str, env: dict | None = None):
        self.base = Path(base)
        self.corpus, self.index = self.base / "corpus", self.base / "index"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # The app is configured by its arguments only; the caller's ASSISTANT_* must not leak in.
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        full_env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", **(env or {}))
        super().__init__([sys.executable, "app.py", "--port", str(self.port), "--corpus",
                          str(self.corpus), "--index-dir", str(self.index), *args],
                         self.url, self.base / "app.log", full_env)

    def __enter__(self):
        shutil.copytree(CORPUS, self.corpus)
        return super().__enter__()

    def client(self, **kwargs):
        import gradio_client

        return gradio_client.Client(self.url, verbose=False, **kwargs)

    def memory_mib(self) -> tuple[float, float]:
        """(resident now, peak resident) of the server process, in MiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kib = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
               if line.startswith(("VmRSS", "VmHWM"))}
        return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024


def llama_server(model: Path, log_path: Path) -> LoopbackProcess:
    """`python -m llama_cpp.server` with `model` (alias smollm2); its /v1 base is `.base`."""
    port = free_port()
    server = LoopbackProcess(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2"],
        f"http://127.0.0.1:{port}/v1/models", log_path, startup_s=90)
    server.base = f"http://127.0.0.1:{port}/v1"
    return server
