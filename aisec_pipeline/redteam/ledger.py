"""What a battery sent: HTTP requests (against the policy's budget) and retries, shared by processes.

The runner (pre-flight, baseline, over-refusal questions) and every garak worker process send
requests to the same endpoint, so the counts live in the run folder: one byte appended to
`requests.count` per request (O_APPEND writes are atomic, so the file size is the count) and
one JSON line in `retries.jsonl` per retry (status, seconds waited). A request past the budget
is refused before it is sent: `take()` raises `BudgetSpent`.

    ledger = Ledger(run_folder, max_requests=2000)
    ledger.take()                       # before every HTTP request, retries included
    ledger.retried(429, 1.0)            # before waiting to retry
    ledger.requests(), ledger.retries()  # totals for the report
"""

from __future__ import annotations

import fcntl
import json
import os
from collections import Counter
from pathlib import Path


class BudgetSpent(Exception):
    """The battery's request budget is used up: no further request may be sent."""


class Ledger:
    def __init__(self, folder: Path | str, max_requests: int | None = None):
        self.folder = Path(folder)
        self.max_requests = max_requests
        self.count_file = self.folder / "requests.count"
        self.retry_file = self.folder / "retries.jsonl"

    def to_config(self) -> dict:
        return {"folder": str(self.folder), "max_requests": self.max_requests}

    @classmethod
    def from_config(cls, config: dict | None) -> "Ledger | None":
        return cls(config["folder"], config.get("max_requests")) if config else None

    def reset(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in (self.count_file, self.retry_file):
            path.unlink(missing_ok=True)

    def take(self) -> None:
        """Count one request, or raise BudgetSpent. The check and the count happen under one
        exclusive lock, so concurrent workers can never send more than the budget together."""
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.count_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if self.max_requests is not None and os.fstat(descriptor).st_size >= self.max_requests:
                raise BudgetSpent(f"the battery's request budget of {self.max_requests} requests "
                                  "is spent (policy max_requests)")
            os.write(descriptor, b".")
        finally:
            os.close(descriptor)  # closing releases the lock

    def retried(self, status: int | str, waited: float) -> None:
        line = json.dumps({"status": status, "waited": round(waited, 3)}) + "\n"
        with open(self.retry_file, "a", encoding="utf-8") as handle:
            handle.write(line)

    def requests(self) -> int:
        try:
            return self.count_file.stat().st_size
        except OSError:
            return 0

    def retries(self) -> dict:
        """{"total": n, "by_status": {"429": n, ...}, "waited_seconds": s}."""
        entries = []
        try:
            for line in self.retry_file.read_text(encoding="utf-8").splitlines():
                entries.append(json.loads(line))
        except (OSError, json.JSONDecodeError):
            pass
        by_status = Counter(str(entry.get("status")) for entry in entries)
        waited = sum(float(entry.get("waited") or 0) for entry in entries)
        return {"total": len(entries), "by_status": dict(sorted(by_status.items())),
                "waited_seconds": round(waited, 1)}
