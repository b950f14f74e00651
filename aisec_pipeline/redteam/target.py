"""The deployed LLM under test, reachable three ways, always with its system prompt.

`Target.complete(user_message)` sends the system prompt and one user message and returns the
answer text. The same code answers the pre-flight check and every garak attempt (through the
`aisec.Target` garak generator), so what is tested is exactly what is deployed.

Kinds: `openai` (chat completions, greedy: temperature 0 and the policy's seed, so a rerun
gets the same answers from a deterministic server), `rest` (a JSON body template and a
JSONPath to the answer) and `registered`: a Python function `(system_prompt, user_message)
-> str` that the package or the operator registered under a plain key. Registry entries
name only the key; nothing in `assets/` says what to import. Operators register a target
by installing a package with an entry point in the `aisec.targets` group:

    [project.entry-points."aisec.targets"]
    acme-guarded-bot = "acme_bot.gate:answer"

The API key is read from the environment variable named by `api_key_env` at call time: a
`Target` holds only the variable's name, so it can be logged, pickled and written to garak's
config without carrying the secret. Error messages never include headers or the key.

Hosted endpoints rate-limit: HTTP 429, 502, 503 and 504 and a dropped connection are retried
(`Retry`): after the server's `Retry-After` (seconds or an HTTP date) when it sends one, else
after an exponential backoff with full jitter; a wait longer than `max_wait_seconds` or more
than `retries` retries is a persistent failure (`TargetError`). A `Ledger` counts every
request against the battery's budget and records every retry.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http.client
import json
import os
import random
import socket
import string
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Callable, Literal

from ..inventory.loader import InventoryError, Model
from ..inventory.schema import Endpoint
from .ledger import BudgetSpent, Ledger

TargetKind = Literal["openai", "rest", "registered"]
ENTRY_POINT_GROUP = "aisec.targets"
# Targets the package itself provides, by key (operators add theirs through entry points).
BUILT_IN_TARGETS = {"aisec.guard": "aisec_pipeline.redteam.guard:answer"}


class TargetError(Exception):
    """The target gave no usable answer. The message is safe to show (no secrets)."""


RETRYABLE = frozenset({429, 502, 503, 504})  # rate limited, or briefly unavailable


@dataclass(frozen=True)
class Retry:
    """How a rate-limited or briefly unavailable endpoint is retried."""

    retries: int = 6  # after the first try
    base_seconds: float = 0.5  # the first backoff; it doubles with each retry (full jitter)
    max_wait_seconds: float = 30.0  # one wait; a longer Retry-After is a persistent failure

    def backoff(self, retry_number: int) -> float:
        """Full jitter: uniform in [0, base * 2^n], capped (spreads workers that were refused together)."""
        return random.uniform(0, min(self.max_wait_seconds, self.base_seconds * 2 ** retry_number))


NO_RETRY = Retry(retries=0)


class _Retryable(Exception):
    def __init__(self, what: str, status: str, retry_after: float | None = None):
        super().__init__(what)
        self.what, self.status, self.retry_after = what, status, retry_after


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    system_prompt: str
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    request_template: str | None = None  # rest: JSON body with $INPUT and $SYSTEM
    response_json_path: str | None = None  # rest: JSONPath to the answer text
    registered: str | None = None  # registered: the key of a target registered in Python

    def with_system_prompt(self, system_prompt: str) -> "Target":
        return dataclasses.replace(self, system_prompt=system_prompt)

    def to_config(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Target":
        return cls(**config)

    def describe(self) -> str:
        where = self.registered if self.kind == "registered" else self.base_url
        return f"{self.kind} target {where}" + (f" (model {self.model})" if self.model else "")

    def api_key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise TargetError(f"the API key variable {self.api_key_env} is not set")
        return key

    def complete(self, user_message: str, *, timeout: float = 60, max_tokens: int = 150,
                 seed: int | None = None, temperature: float = 0.0, retry: Retry = NO_RETRY,
                 ledger: Ledger | None = None) -> str:
        """One answer. `temperature` 0 is greedy (the same prompt gets the same answer)."""
        if self.kind == "registered":
            return _call_registered(self.registered or "", self.system_prompt, user_message)
        sending = _Sending(timeout, retry, ledger)
        if self.kind == "openai":
            return self._complete_openai(user_message, sending, max_tokens, seed, temperature)
        return self._complete_rest(user_message, sending)

    def _complete_openai(self, user_message: str, sending: "_Sending", max_tokens: int,
                         seed: int | None, temperature: float) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": self.system_prompt},
                         {"role": "user", "content": user_message}],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": 1.0,
        }
        if seed is not None:
            body["seed"] = seed
        url = (self.base_url or "").rstrip("/") + "/chat/completions"
        answer = sending.post_json(url, json.dumps(body), self._headers())
        try:
            return _as_text(answer["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise TargetError(f"{url} answered without choices[0].message.content") from None

    def _complete_rest(self, user_message: str, sending: "_Sending") -> str:
        template = string.Template(self.request_template or "")
        body = template.safe_substitute(INPUT=_json_escape(user_message),
                                        SYSTEM=_json_escape(self.system_prompt))
        answer = sending.post_json(self.base_url or "", body, self._headers())
        return _json_path(answer, self.response_json_path or "$")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers


def target_from_endpoint(endpoint: Endpoint, system_prompt: str,
                         base_url: str | None = None) -> Target:
    """`base_url` overrides the entry's, e.g. for an artifact served on loopback for the scan."""
    return Target(kind=endpoint.type, system_prompt=system_prompt,
                  base_url=base_url or endpoint.base_url, model=endpoint.model,
                  api_key_env=endpoint.api_key_env, request_template=endpoint.request_template,
                  response_json_path=endpoint.response_json_path, registered=endpoint.target)


def target_from_model(model: Model, base_url: str | None = None) -> Target:
    """The registry entry's endpoint with its deployed system prompt (file confined to the folder)."""
    endpoint = model.entry.endpoint
    if endpoint is None:
        raise InventoryError(f"{model.entry_file}: no endpoint to red-team")
    path = model.path(endpoint.system_prompt_file)
    try:
        system_prompt = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the system prompt: {exc}") from None
    return target_from_endpoint(endpoint, system_prompt, base_url)


@dataclass(frozen=True)
class _Sending:
    """One answer's requests: the per-request timeout, the retry rule and the ledger."""

    timeout: float
    retry: Retry
    ledger: Ledger | None

    def post_json(self, url: str, body: str, headers: dict[str, str]) -> Any:
        for number in range(self.retry.retries + 1):
            if self.ledger is not None:
                try:
                    self.ledger.take()
                except BudgetSpent as exc:
                    raise TargetError(str(exc)) from None
            try:
                return _post_json(url, body, headers, self.timeout)
            except _Retryable as exc:
                wait = self._wait(exc, number, url)
                if self.ledger is not None:
                    self.ledger.retried(exc.status, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # the last try returns or raises

    def _wait(self, exc: _Retryable, number: int, url: str) -> float:
        """Seconds to wait before retry `number` + 1, or TargetError for a persistent failure."""
        if number >= self.retry.retries:
            tries = f"{number + 1} tries" if self.retry.retries else "1 try (retries off)"
            raise TargetError(f"{exc.what} from {url} after {tries}")
        if exc.retry_after is None:
            return self.retry.backoff(number)
        if exc.retry_after > self.retry.max_wait_seconds:
            raise TargetError(f"{exc.what} from {url} asking to wait {exc.retry_after:g} s, "
                              f"more than the {self.retry.max_wait_seconds:g} s allowed")
        return exc.retry_after + random.uniform(0, self.retry.base_seconds)  # honour it, jittered


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _post_json(url: str, body: str, headers: dict[str, str], timeout: float) -> Any:
    request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in RETRYABLE:
            raise _Retryable(f"HTTP {exc.code}", str(exc.code),
                             retry_after_seconds(exc.headers.get("Retry-After"))) from None
        raise TargetError(f"HTTP {exc.code} from {url}") from None
    except (ConnectionResetError, http.client.RemoteDisconnected):
        raise _Retryable("connection dropped", "dropped") from None
    except (TimeoutError, socket.timeout):
        raise TargetError(f"no answer from {url} within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise TargetError(f"no answer from {url} within {timeout:g} s") from None
        raise TargetError(f"cannot reach {url}: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TargetError(f"{url} did not answer with JSON") from None


def _json_escape(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_path(document: Any, path: str) -> str:
    import jsonpath_ng  # a garak dependency; imported late to keep start-up light

    try:
        matches = jsonpath_ng.parse(path).find(document)
    except Exception as exc:  # noqa: BLE001 - jsonpath_ng raises bare Exception on a bad expression
        raise TargetError(f"invalid response JSONPath {path!r}: {exc}") from None
    if not matches:
        raise TargetError(f"the response has nothing at JSONPath {path!r}")
    return _as_text(matches[0].value)


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TargetError(f"the answer is {type(value).__name__}, not text")
    return value


def _call_registered(key: str, system_prompt: str, user_message: str) -> str:
    function = registered_target(key)
    try:
        answer = function(system_prompt, user_message)
    except TargetError:
        raise
    except Exception as exc:  # noqa: BLE001 - the target's own failure is an error attempt, not a crash
        raise TargetError(f"registered target {key!r} raised {exc.__class__.__name__}") from None
    return _as_text(answer)


def registered_target(key: str) -> Callable[[str, str], Any]:
    """The function registered under `key`: built in, or an `aisec.targets` entry point."""
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == key]
    spec = BUILT_IN_TARGETS.get(key)
    if spec:
        found.append(metadata.EntryPoint(key, spec, ENTRY_POINT_GROUP))
    if not found:
        known = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
                       | set(BUILT_IN_TARGETS))
        raise TargetError(f"no target is registered as {key!r} (known: {', '.join(known)}); "
                          f"install the package that provides it (entry point group "
                          f"{ENTRY_POINT_GROUP})")
    if len({ep.value for ep in found}) > 1:
        raise TargetError(f"target {key!r} is registered more than once: "
                          f"{', '.join(sorted({ep.value for ep in found}))}")
    try:
        function = found[0].load()
    except Exception as exc:  # noqa: BLE001 - ImportError, AttributeError, or the module failing as it loads
        raise TargetError(f"cannot load registered target {key!r}: "
                          f"{exc.__class__.__name__}: {exc}") from None
    if not callable(function):
        raise TargetError(f"registered target {key!r} is not callable")
    return function
