"""The `aisec.Target` garak generator: every attempt goes through `redteam.target.Target`.

garak's function and REST generators pass only the last user message; this one sends the
attempt's system turn (the deployed system prompt with the planted canary) with it, for every
target kind. A target error becomes a missing answer (None) and one line in `errors_file`, so
the gate can count errors and say why instead of crashing or retrying forever. Rate limits
and brief outages are retried inside `Target.complete` (the policy's retry rule, each retry and
request counted in the run folder's ledger against the request budget); only a persistent
failure is an error. Any error makes the run UNASSESSED, so after a few errors the target is not
called again; the count is read from `errors_file`, which every parallel garak worker shares (a
worker's own memory is not: garak may hand each attempt a fresh copy of the generator).
"""

import json

from garak import _config
from garak.attempt import Message
from garak.generators.base import Generator

from aisec_pipeline.redteam.ledger import Ledger
from aisec_pipeline.redteam.target import Retry, Target as AisecTarget, TargetError

GIVE_UP_AFTER = 3  # target errors in this battery, all workers together


class Target(Generator):
    """A deployed LLM endpoint as configured by the aisec gate"""

    generator_family_name = "aisec"
    supports_multiple_generations = False
    parallel_capable = True
    DEFAULT_PARAMS = Generator.DEFAULT_PARAMS | {
        "target": None,
        "request_timeout": 60,
        "errors_file": None,
        "retry": None,  # Retry fields; None: no retries
        "ledger": None,  # Ledger config: request budget and retry counts, shared by workers
    }

    def __init__(self, name="", config_root=_config):
        self.name = name
        self._load_config(config_root)
        self._target = AisecTarget.from_config(self.target)
        self._retry = Retry(**self.retry) if self.retry else Retry(retries=0)
        self._ledger = Ledger.from_config(self.ledger)
        self.name = self.name or self._target.describe()
        super().__init__(self.name, config_root=config_root)
        # The policy's decoding, kept apart: garak's promptinject probes overwrite the generator's
        # temperature, top_p and max_tokens per prompt (some at temperature 0.7), which would
        # make a greedy battery sample those answers and ignore the policy's token bound.
        self._max_tokens, self._temperature = self.max_tokens, self.temperature or 0.0

    def _call_model(self, prompt, generations_this_call=1):
        if self._errors_so_far() >= GIVE_UP_AFTER:
            return [None]  # the run is unassessed already; don't wait out every timeout
        target = self._target
        if any(turn.role == "system" for turn in prompt.turns):
            target = target.with_system_prompt(prompt.last_message("system").text)
        try:
            text = target.complete(prompt.last_message("user").text,
                                   timeout=self.request_timeout, max_tokens=self._max_tokens,
                                   # a sampled endpoint gets no seed: each answer is a new draw
                                   seed=None if self._temperature else self.seed,
                                   temperature=self._temperature,
                                   retry=self._retry, ledger=self._ledger)
        except TargetError as exc:
            self._record_error(str(exc))
            return [None]
        return [Message(text)]

    def _errors_so_far(self):
        try:
            with open(self.errors_file, encoding="utf-8") as errors:
                return sum(1 for _ in errors)
        except (OSError, TypeError):
            return 0

    def _record_error(self, message):
        if self._errors_so_far() + 1 >= GIVE_UP_AFTER:
            message += f" (after {GIVE_UP_AFTER} failures no further requests are sent)"
        if self.errors_file:
            with open(self.errors_file, "a", encoding="utf-8") as errors:
                errors.write(json.dumps({"error": message}) + "\n")
