"""Dagster resources: the governed inventory on disk, run folders, and the local LLM server."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg

from ..governance.policy import Policy, load_policy
from ..inventory import Model, load_model


class GovernedInventory(dg.ConfigurableResource):
    """The `assets/` folder. Re-read at run time so a run always judges the current files."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)

    def policy(self) -> Policy:
        return load_policy(self.path)

    def model(self, folder: Path) -> Model:
        return load_model(folder)


class RunFolders(dg.ConfigurableResource):
    """Where evidence files (garak reports, rendered cards) are kept: inside the instance storage."""

    def folder(self, context: dg.AssetExecutionContext, model: str, kind: str) -> Path:
        """A folder for this run's files of one evidence kind."""
        base = self.state_folder(context, model, kind) / context.run.run_id
        base.mkdir(parents=True, exist_ok=True)
        return base

    def state_folder(self, context: dg.AssetExecutionContext, model: str, kind: str) -> Path:
        """A folder kept across runs (monitoring history, alert state)."""
        base = Path(context.instance.storage_directory()) / "aisec" / model / kind
        base.mkdir(parents=True, exist_ok=True)
        return base


class LocalLLMServer(dg.ConfigurableResource):
    """Serves a registry GGUF on loopback for the duration of an injection battery.

    Started and stopped by the asset that needs it, with a health check before use and a clean
    shutdown (process group) afterwards, also on errors.
    """

    startup_timeout_seconds: int = 120
    context_size: int = 2048

    @contextmanager
    def serving(self, gguf: Path, alias: str) -> Iterator[str]:
        from ..redteam.serve import LocalLLMServer as Server

        with Server(gguf, alias, startup_timeout=self.startup_timeout_seconds,
                    n_ctx=self.context_size) as server:
            yield server.base_url


class _UserMessagesOnly(logging.Filter):
    """Keep what the assets say (progress, verdicts); drop the framework's step events."""

    def filter(self, record: logging.LogRecord) -> bool:
        from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

        if not has_log_record_metadata(record):
            return False
        metadata = get_log_record_metadata(record)
        if metadata["dagster_event"] is not None:
            return False
        record.msg, record.args = metadata["orig_message"], ()
        return True


@dg.logger(description="One line per progress message from aisec's assets; no framework events.")
def progress_logger(_init_context) -> logging.Logger:
    log = logging.getLogger("aisec.progress")
    log.setLevel(logging.INFO)
    log.propagate = False
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_UserMessagesOnly())
        handler.setFormatter(logging.Formatter("    %(message)s"))
        log.addHandler(handler)
    return log
