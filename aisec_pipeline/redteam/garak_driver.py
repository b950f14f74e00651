"""Run one garak battery in this process: `python -m aisec_pipeline.redteam.garak_driver JOB.json`.

The runner starts this in a fresh subprocess per battery (garak caches plugin instances per
process and keeps global config). It makes aisec's own plugins importable by appending
`garak_plugins/<kind>` to `garak.<kind>.__path__`, then drives garak's probewise harness the
way `garak.cli` does. Before the run it holds every probe to the policy's prompt cap and
writes a manifest: per probe, the detector that must score it (so the runner can require one
`eval` row per pair), that detector's own trigger strings when aisec re-judges its hits from
them (`redteam.confirm`), and the number of answers the probe will ask for (progress, timeout).
An extension pass names, per probe, the answers it wants (`want`) and the prompts the first
pass already asked (`asked`): those are dropped (with their aligned triggers; the manifest says
`kept_first` so the runner adds the two passes up), the probe is held to that many new prompts
(as many as it has), and when the endpoint samples (`sampled`) and the prompts run out, it asks
more answers per prompt instead.

garak's own sampling is switched off (the config's soft cap is UNCAPPED) so that repeats can be
dropped before the probe is held to the policy's cap (`cap`).

JOB.json: {"config": garak YAML, "probes": ["module.Class", ...], "manifest": path, "cap": n,
           "want": {"module.Class": answers, ...}, "asked": {"module.Class": [prompt, ...]},
           "sampled": bool}
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
UNCAPPED = 1_000_000  # garak's soft prompt cap: the driver samples, after dropping repeats


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


def plan(probe: str, cap: int, generations: int, want: int = 0, sampled: bool = False,
         asked: frozenset[str] = frozenset()) -> dict:
    """The probe's manifest entry; its instance is sized (cap, or `want` answers) on the way."""
    from aisec_pipeline.redteam.confirm import REJUDGED, SUBSTRINGS

    detector = primary_detector(probe)
    instance = load("probes", probe) if detector else None
    kept_first = False
    if instance is not None:
        distinct_prompts(instance)
        if want:  # what the first pass lacked; all of it again when its prompts stay in
            kept_first = drop_asked(instance, asked)
            cap, generations = size_for(instance, want if kept_first else want + len(asked),
                                        generations, sampled)
        enforce_prompt_cap(instance, cap)
    prompts = getattr(instance, "prompts", None)
    substrings = []
    if REJUDGED.get(detector) == SUBSTRINGS:
        substrings = list(getattr(load("detectors", detector), "substrings", None) or [])
    return {"detector": detector, "substrings": substrings, "kept_first": kept_first,
            "attempts": len(prompts) * generations if isinstance(prompts, list) else 0}


def distinct_prompts(instance) -> None:
    """Keep the first of identical prompts (garak's promptinject lists each of its 175 four
    times, goodside.Tag its 16 twice): a greedy endpoint answers a repeat identically, so a
    repeat is no new evidence. Left as is when per-prompt data would fall out of line."""
    prompts = getattr(instance, "prompts", None)
    if isinstance(prompts, list) and all(isinstance(p, str) for p in prompts):
        seen: set[str] = set()
        _keep(instance, [i for i, p in enumerate(prompts) if not (p in seen or seen.add(p))])


def _keep(instance, keep: list[int]) -> bool:
    """Keep these prompt indexes (and aligned triggers); False, changing nothing, when the probe
    keeps other per-prompt data (its own `_prune_data`, or triggers out of line)."""
    from garak.probes.base import Probe

    prompts, triggers = instance.prompts, getattr(instance, "triggers", None)
    aligned = isinstance(triggers, list) and len(triggers) == len(prompts)
    own_pruning = getattr(type(instance), "_prune_data", Probe._prune_data) is not Probe._prune_data
    if own_pruning or (triggers is not None and not aligned):
        return False
    instance.prompts = [prompts[index] for index in keep]
    if aligned:
        instance.triggers = [triggers[index] for index in keep]
    return True


def drop_asked(instance, asked: frozenset[str]) -> bool:
    """Drop the prompts a first pass asked (and their aligned triggers); False, dropping
    nothing, when the probe keeps other per-prompt data that would fall out of line."""
    prompts = getattr(instance, "prompts", None)
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        return False
    return _keep(instance, [index for index, prompt in enumerate(prompts) if prompt not in asked])


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
    want, sampled, asked = job.get("want") or {}, bool(job.get("sampled")), job.get("asked") or {}
    manifest = {probe: plan(probe, int(job["cap"]), _config.run.generations,
                            int(want.get(probe) or 0), sampled, frozenset(asked.get(probe) or ()))
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
