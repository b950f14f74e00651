"""Scale: an inventory of 500 generated models (run on demand: `.venv/bin/python benchmarks/scale.py`).

Prints, each against a baseline measured in the same run:
- definitions load time for 500 models (goal < 10 s), against one model;
- one tick of the new-version sensor over 500 models (goal < 2 s), against loading the inventory,
  and one tick after the card of a gated model was edited (goal < 2 s; one run selecting the
  card's evidence and the decision);
- re-gating an unchanged model whose evidence is fresh (goal < 5 s, nothing re-scanned), against
  its first, full gate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def build_inventory(root: Path, count: int) -> Path:
    import numpy as np
    from inventory_builder import add_model, new_inventory
    from safetensors.numpy import save

    new_inventory(root)
    for index in range(count):
        weights = save({"dense.weight": np.full((3, 4), index, dtype=np.float32)})
        add_model(root, f"model-{index:04d}", weights)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aisec-scale-") as tmp:
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home")
        (Path(tmp) / "home").mkdir()
        (Path(tmp) / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        run(Path(tmp), args.models)
    return 0


def run(tmp: Path, count: int) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg

    from aisec_pipeline.inventory import load_inventory
    from aisec_pipeline.orchestration.component import inventory_definitions
    from aisec_pipeline.orchestration.gate import Gate, dagster_instance

    one = build_inventory(tmp / "one", 1)
    many = build_inventory(tmp / "many", count)
    inventory_definitions(one)  # warm imports so both timings measure the same work
    t_one, _ = timed(lambda: inventory_definitions(one).resolve_all_asset_keys())
    t_many, defs = timed(lambda: inventory_definitions(many))
    t_resolve, _ = timed(lambda: defs.resolve_all_asset_keys())
    print(f"definitions, {count} models: {t_many + t_resolve:.2f} s (goal < 10 s); "
          f"1 model: {t_one:.3f} s; ratio {(t_many + t_resolve) / t_one:.0f}x for {count}x the models")

    instance = dagster_instance()
    sensor = defs.resolve_sensor_def("new_model_versions")
    repo = defs.get_repository_def()
    t_inventory, _ = timed(lambda: load_inventory(many))
    context = dg.build_sensor_context(instance=instance, repository_def=repo)
    t_first, first = timed(lambda: sensor(context))
    context = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=first.cursor)
    t_tick, quiet = timed(lambda: sensor(context))
    print(f"sensor tick, {count} models, nothing changed: {t_tick:.2f} s (goal < 2 s), "
          f"{len(quiet.run_requests)} runs requested; first tick: {t_first:.2f} s requesting "
          f"{len(first.run_requests)}; ratio to loading the inventory alone: {t_tick / t_inventory:.1f}x")

    model = load_inventory(many)[0]
    gate = Gate(many, instance)
    t_full, _ = timed(lambda: gate.run([model]))
    t_again, decisions = timed(lambda: gate.run([model]))
    scans = len(instance.fetch_materializations(dg.AssetKey([model.name, "artifact_scan"]),
                                                 limit=10).records)
    print(f"re-gate unchanged model with fresh evidence: {t_again:.2f} s (goal < 5 s), "
          f"decision {decisions[0].label}, artifact scans recorded: {scans} (1 = nothing re-scanned); "
          f"first full gate: {t_full:.2f} s; ratio {t_again / t_full:.2f}")
    if not decisions[0].approved:
        print("  blocked because: " + "; ".join(decisions[0].reasons))

    card = many / "models" / "model-0000" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts the totals"))
    context = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=quiet.cursor)
    t_edit, edited = timed(lambda: sensor(context))
    selected = [", ".join(k.path[1] for k in r.asset_selection) for r in edited.run_requests]
    print(f"sensor tick, {count} models, the gated model's card edited: {t_edit:.2f} s (goal < 2 s), requested "
          f"{len(edited.run_requests)} run(s) selecting [{'; '.join(selected)}], "
          f"{len(edited.asset_events)} observation(s)")


if __name__ == "__main__":
    sys.exit(main())
