"""Run one garak battery in this process: `python -m aisec_pipeline.redteam.garak_driver JOB.json`.

The runner starts this in a fresh subprocess per battery (garak caches plugin instances per
process and keeps global config). It makes aisec's own plugins importable by appending
`garak_plugins/<kind>` to `garak.<kind>.__path__`, then drives garak's probewise harness the
way `garak.cli` does. Before the run it holds every probe to the policy's prompt cap and
writes a manifest: per probe, the detector that must score it (so the runner can require one
`eval` row per pair), that detector's own trigger strings when aisec re-judges its hits from
them (`redteam.confirm`), and the number of answers the probe will ask for (progress, timeout).
An extension pass names, per probe, the answers it wants (`want`): the probe is held to that
many prompts (as many as it has), and when the endpoint samples (`sampled`) and the prompts run
out, it asks more answers per prompt instead.

JOB.json: {"config": garak YAML, "probes": ["module.Class", ...], "manifest": path,
           "want": {"module.Class": answers, ...}, "sampled": bool}
"""

from __future__ import annotations

import datetime
import importlib
import json
import math
import random
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent / "garak_plugins"


def register_plugins() -> None:
    import garak.detectors
    import garak.generators
    import garak.probes

    for package in (garak.probes, garak.detectors, garak.generators):
        folder = str(PLUGINS / package.__name__.rpartition(".")[2])
        if folder not in package.__path__:
            package.__path__.append(folder)


def primary_detector(probe: str) -> str | None:
    module_name, _, class_name = probe.rpartition(".")
    try:
        probe_class = getattr(importlib.import_module(f"garak.probes.{module_name}"), class_name)
    except (ImportError, AttributeError):
        return None
    return getattr(probe_class, "primary_detector", None)


def load(kind: str, name: str):
    """garak's cached plugin instance (the harness later gets this same one), or None."""
    from garak import _config, _plugins

    try:
        return _plugins.load_plugin(f"{kind}.{name}", config_root=_config)
    except Exception:  # noqa: BLE001 - the harness reports the load failure; the eval row will be missing
        return None


def enforce_prompt_cap(instance, cap: int) -> None:
    """Prune probes that build a fixed prompt list and skip the cap (goodside.Tag has 32).

    Probes that opt out (`follow_prompt_cap = False`, e.g. aisec's fixed sets) are left whole,
    and so are probes with per-prompt data other than an aligned `triggers` list."""
    prompts, triggers = getattr(instance, "prompts", None), getattr(instance, "triggers", None)
    if not isinstance(prompts, list) or len(prompts) <= cap or not instance.follow_prompt_cap:
        return
    aligned = isinstance(triggers, list) and len(triggers) == len(prompts)
    if triggers is None or aligned:
        instance._prune_data(cap, prune_triggers=aligned)


def plan(probe: str, cap: int, generations: int, want: int = 0, sampled: bool = False) -> dict:
    """The probe's manifest entry; its instance is sized (cap, or `want` answers) on the way."""
    from aisec_pipeline.redteam.confirm import REJUDGED, SUBSTRINGS

    detector = primary_detector(probe)
    instance = load("probes", probe) if detector else None
    if instance is not None:
        if want:
            cap, generations = size_for(instance, want, generations, sampled)
        enforce_prompt_cap(instance, cap)
    prompts = getattr(instance, "prompts", None)
    substrings = []
    if REJUDGED.get(detector) == SUBSTRINGS:
        substrings = list(getattr(load("detectors", detector), "substrings", None) or [])
    return {"detector": detector, "substrings": substrings,
            "attempts": len(prompts) * generations if isinstance(prompts, list) else 0}


def size_for(instance, want: int, generations: int, sampled: bool) -> tuple[int, int]:
    """(prompts, answers per prompt) for `want` answers: more prompts first; more answers per
    prompt only from an endpoint that samples (a greedy one would repeat itself)."""
    available = len(getattr(instance, "prompts", None) or []) or 1
    cap = min(available, math.ceil(want / generations))
    if sampled and cap * generations < want:
        generations = math.ceil(want / cap)
        instance.generations = generations
    return cap, generations


def run(job: dict) -> None:
    register_plugins()
    from garak import _config, _plugins, command
    import garak.evaluators

    _config.transient.starttime = datetime.datetime.now()
    _config.transient.starttime_iso = _config.transient.starttime.isoformat()
    command.start_logging()
    _config.load_base_config()
    _config.load_config(run_config_filename=job["config"])
    random.seed(_config.run.seed)

    probes = sorted(job["probes"])
    want, sampled = job.get("want") or {}, bool(job.get("sampled"))
    manifest = {probe: plan(probe, _config.run.soft_probe_prompt_cap, _config.run.generations,
                            int(want.get(probe) or 0), sampled)
                for probe in probes}
    partial = Path(job["manifest"] + ".partial")  # the runner reads it during the run
    partial.write_text(json.dumps(manifest), encoding="utf-8")
    partial.replace(job["manifest"])

    generator = _plugins.load_plugin(f"generators.{_config.plugins.target_type}",
                                     config_root=_config)
    evaluator = garak.evaluators.ThresholdEvaluator(_config.run.eval_threshold)
    command.start_run()
    command.probewise_run(generator, [f"probes.{probe}" for probe in probes], evaluator, [])
    command.end_run()


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
