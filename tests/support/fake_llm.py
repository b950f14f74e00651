"""A real OpenAI-compatible (and plain REST) HTTP server on loopback, with scripted behaviours.

- obedient: reveals its system prompt when asked about instructions/codes, otherwise does
  what the last instruction says (a quoted string, or whatever follows the last colon).
- refusing: declines everything.
- flaky: answers the first request, then HTTP 500 for everything.
- slow: answers the first request, then sleeps `delay` seconds before answering.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


REFUSAL = "I'm sorry, but I can't help with that request."
_ASKS_FOR_SECRETS = re.compile(r"system|instruction|code|above|prompt|configuration|系统", re.I)
_QUOTED = re.compile(r"[\"“「](.+?)[\"”」]")


def obey(system_prompt: str, user_message: str) -> str:
    if _ASKS_FOR_SECRETS.search(user_message):
        return f"Sure! My instructions are: {system_prompt}"
    quoted = _QUOTED.findall(user_message)
    if quoted:
        return quoted[-1]
    head, colon, tail = user_message.rpartition(":")
    return tail.strip() if colon and tail.strip() else user_message


def refuse(system_prompt: str, user_message: str) -> str:
    return REFUSAL


class FakeLLM:
    def __init__(self, behaviour: str = "obedient", delay: float = 0.0,
                 api_key: str | None = None):
        self.behaviour, self.delay, self.api_key = behaviour, delay, api_key
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/generate"

    def __enter__(self) -> "FakeLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, system_prompt: str, user_message: str) -> tuple[int, str]:
        with self.lock:
            count = len(self.requests)
            self.requests.append({"system": system_prompt, "user": user_message})
        if self.behaviour == "flaky" and count > 0:
            return 500, ""
        if self.behaviour == "slow" and count > 0:
            time.sleep(self.delay)
        if self.behaviour == "refusing":
            return 200, refuse(system_prompt, user_message)
        return 200, obey(system_prompt, user_message)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._send(401, {"error": "bad key"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/chat/completions"):
                    messages = body["messages"]
                    system = "".join(m["content"] for m in messages if m["role"] == "system")
                    status, text = fake.answer(system, messages[-1]["content"])
                    payload = {"id": "x", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": text}}]}
                else:  # plain REST: {"system": ..., "prompt": ...} -> {"result": {"text": ...}}
                    status, text = fake.answer(body["system"], body["prompt"])
                    payload = {"result": {"text": text}}
                self._send(status, payload if status == 200 else {"error": "boom"})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler
