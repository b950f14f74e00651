"""An OpenAI-compatible chat server for a converted model (CTranslate2), on loopback.

`python -m aisec_pipeline.redteam.chat_server --model-dir DIR --alias NAME --port P [--slots N]`
serves `GET /v1/models` and `POST /v1/chat/completions` for the folder `gguf_convert` wrote.
`serve.LocalLLMServer` starts it in its own process group; nobody needs to start it by hand.

One request is one decode on one of `slots` single-thread model replicas: requests are never
batched together, so an answer does not depend on what else is being answered. Temperature 0
(what aisec and garak send) is greedy: the same messages always get the same answer on the same
machine. A temperature above 0 samples (top-p honoured) from a generator seeded once at start.
`max_tokens` and `stop` (a string or a list) are honoured as OpenAI's API defines them. The chat
template comes from the GGUF and is rendered only in Jinja's ImmutableSandboxedEnvironment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .gguf_convert import MANIFEST

COMPUTE_TYPE = "int8_float32"  # as stored by gguf_convert.QUANTIZATION
SEED = 1
MAX_CHOICES = 8
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


class RequestError(Exception):
    """The request cannot be answered as sent (HTTP 400)."""


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" (end token or a stop string) or "length" (max_tokens)
    tokens: int


class ChatModel:
    """The converted model, its tokenizer and its chat template, ready to answer."""

    def __init__(self, folder: Path, slots: int, n_ctx: int):
        import ctranslate2
        from tokenizers import Tokenizer

        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.end_id = int(manifest["eos_token_id"])
        self.end_token = self.tokenizer.id_to_token(self.end_id)
        self.bos_token = self.tokenizer.id_to_token(int(manifest["bos_token_id"]))
        self.template = _sandboxed_template(manifest.get("chat_template") or CHATML)
        self.n_ctx = n_ctx
        ctranslate2.set_random_seed(SEED)
        self.generator = ctranslate2.Generator(str(folder), device="cpu", compute_type=COMPUTE_TYPE,
                                               inter_threads=slots, intra_threads=1)

    def prompt_tokens(self, messages: list[dict]) -> list[str]:
        text = self.template.render(messages=messages, add_generation_prompt=True,
                                    bos_token=self.bos_token, eos_token=self.end_token)
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def complete(self, prompt: list[str], max_tokens: int | None, temperature: float,
                 top_p: float, stop: list[str]) -> Completion:
        room = self.n_ctx - len(prompt)
        if room <= 0:
            raise RequestError(f"the prompt has {len(prompt)} tokens; the context holds {self.n_ctx}")
        limit = room if max_tokens is None else min(max_tokens, room)
        ids: list[int] = []

        def on_token(step) -> bool:  # True stops this decode
            if step.token_id != self.end_id:
                ids.append(step.token_id)
            return bool(stop) and any(s in self._text(ids) for s in stop)

        sampling = {"sampling_topk": 1} if temperature <= 0 else {
            "sampling_topk": 0, "sampling_topp": top_p, "sampling_temperature": temperature}
        self.generator.generate_batch([prompt], max_length=limit, include_prompt_in_result=False,
                                      end_token=[self.end_id], callback=on_token, **sampling)
        text = self._text(ids)
        cuts = [text.find(s) for s in stop if s in text]
        if cuts:
            return Completion(text[:min(cuts)], "stop", len(ids))
        return Completion(text, "stop" if len(ids) < limit else "length", len(ids))

    def _text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def _sandboxed_template(source: str):
    """The chat template compiled in an immutable sandbox: data, never code."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                extensions=["jinja2.ext.loopcontrols"])
    environment.globals["raise_exception"] = raise_exception
    return environment.from_string(source)


def parse_request(body: bytes) -> dict:
    """The chat request's fields, checked; RequestError says what is wrong."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise RequestError("the body is not JSON") from None
    if not isinstance(request, dict):
        raise RequestError("the body is not a JSON object")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list")
    stop = request.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    max_tokens = request.get("max_tokens", request.get("max_completion_tokens"))
    temperature, top_p, n = (request.get(key, default) for key, default in
                             (("temperature", 1.0), ("top_p", 1.0), ("n", 1)))
    if not (isinstance(stop, list) and all(isinstance(s, str) and s for s in stop)):
        raise RequestError("stop must be a string or a list of strings")
    if max_tokens is not None and not (isinstance(max_tokens, int) and max_tokens > 0):
        raise RequestError("max_tokens must be a positive integer")
    if not (_number(temperature) and temperature >= 0 and _number(top_p) and 0 < top_p <= 1):
        raise RequestError("temperature must be >= 0 and top_p in (0, 1]")
    if not (isinstance(n, int) and 1 <= n <= MAX_CHOICES):
        raise RequestError(f"n must be an integer from 1 to {MAX_CHOICES}")
    return {"messages": [_message(m) for m in messages], "stop": stop, "max_tokens": max_tokens,
            "temperature": float(temperature), "top_p": float(top_p), "n": n,
            "model": request.get("model")}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _message(message) -> dict:
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise RequestError("each message needs a role and a content")
    content = message.get("content")
    if isinstance(content, list):  # content parts: only text is understood
        if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
            raise RequestError("only text content parts are supported")
        content = "".join(str(p.get("text", "")) for p in content)
    if not isinstance(content, str):
        raise RequestError("each message needs a role and a content")
    return {"role": message["role"], "content": content}


class ChatServer:
    def __init__(self, model: ChatModel, alias: str, port: int):
        self.model, self.alias = model, alias
        self.http = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.http.daemon_threads = True

    def models(self) -> tuple[int, dict]:
        return 200, {"object": "list", "data": [{"id": self.alias, "object": "model",
                                                 "owned_by": "aisec", "created": 0}]}

    def chat(self, body: bytes) -> tuple[int, dict]:
        try:
            request = parse_request(body)
            prompt = self.model.prompt_tokens(request["messages"])
            completions = [self.model.complete(prompt, request["max_tokens"],
                                               request["temperature"], request["top_p"],
                                               request["stop"]) for _ in range(request["n"])]
        except RequestError as exc:
            return 400, _error(str(exc), "invalid_request_error")
        except Exception as exc:  # noqa: BLE001 - a template or decoding failure: an HTTP error
            return 500, _error(f"{type(exc).__name__}: {exc}", "server_error")
        return 200, {
            "id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion",
            "created": int(time.time()), "model": request["model"] or self.alias,
            "choices": [{"index": number, "finish_reason": c.finish_reason,
                         "message": {"role": "assistant", "content": c.text}}
                        for number, c in enumerate(completions)],
            "usage": {"prompt_tokens": len(prompt),
                      "completion_tokens": sum(c.tokens for c in completions),
                      "total_tokens": len(prompt) + sum(c.tokens for c in completions)}}


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind}}


def _handler(server: ChatServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(*server.models())
            else:
                self._send(404, _error(f"no route {self.path}", "not_found"))

        def do_POST(self):
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, _error(f"no route {self.path}", "not_found"))
                return
            length = int(self.headers.get("Content-Length") or 0)
            self._send(*server.chat(self.rfile.read(length)))

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its own timeout)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aisec_pipeline.redteam.chat_server")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args(argv)
    server = ChatServer(ChatModel(args.model_dir, args.slots, args.n_ctx), args.alias, args.port)
    print(f"chat_server: {args.alias} on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.http.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
