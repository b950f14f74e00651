"""A card edit on an LLM model, re-gated by the sensor, without re-running the injection battery
(run on demand: `.venv/bin/python benchmarks/sensor_regate.py`).

An LLM entry served by a real HTTP endpoint on loopback (`tests/support/fake_llm.py`) is gated
once through the CLI (the full battery: the baseline, measured in the same run). Then its card is
edited and reviewed again, and the `new_model_versions` sensor ticks (observing the files) and its
run request is executed as the daemon would (the job, the selection, the tags; in-process, so
the daemon's launch latency is not included). Goal: < 10 s, with the battery not re-run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from scale import timed  # scale (beside this script) also puts the repo and tests/support on sys.path


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="aisec-sensor-regate-") as tmp:
        os.environ["DAGSTER_HOME"] = str(Path(tmp) / "home")
        (Path(tmp) / "home").mkdir()
        (Path(tmp) / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        run(Path(tmp))
    return 0


def run(tmp: Path) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg
    from fake_llm import FakeLLM
    from inventory_builder import add_llm, new_inventory, review_card, safetensors_bytes

    from aisec_pipeline.cli import main as aisec
    from aisec_pipeline.orchestration.component import inventory_definitions

    root = new_inventory(tmp / "assets")
    with FakeLLM("topic") as endpoint:
        add_llm(root, "support-bot", safetensors_bytes(tmp), endpoint.base_url)
        t_full, code = timed(lambda: aisec(["gate", "support-bot", "--inventory", str(root)]))
        instance = dg.DagsterInstance.get()
        battery = dg.AssetKey(["support-bot", "injection_report"])
        batteries = len(instance.fetch_materializations(battery, limit=10).records)
        defs = inventory_definitions(root)  # what the running deployment loaded
        sensor = defs.resolve_sensor_def("new_model_versions")
        repo = defs.get_repository_def()
        first = sensor(dg.build_sensor_context(instance=instance, repository_def=repo))

        card = root / "models" / "support-bot" / "card.md"
        card.write_text(card.read_text() + "\nClarified: answers only account questions.\n")
        review_card(root, "support-bot")
        asked = len(endpoint.requests)

        def regate():
            result = sensor(dg.build_sensor_context(instance=instance, repository_def=repo,
                                                    cursor=first.cursor))
            for event in result.asset_events:
                instance.report_runless_asset_event(event)
            [request] = result.run_requests
            job = defs.resolve_implicit_global_asset_job_def()
            job.execute_in_process(instance=instance, asset_selection=request.asset_selection,
                                   tags=request.tags, raise_on_error=False)
            return request

        t_regate, request = timed(regate)
        requests_to_endpoint = len(endpoint.requests) - asked
    latest = instance.get_latest_materialization_event(dg.AssetKey(["support-bot", "deployment_decision"]))
    label = latest.asset_materialization.metadata["verdict"].value
    now = len(instance.fetch_materializations(battery, limit=10).records)
    print(f"card edit on an LLM, re-gated by the sensor: {t_regate:.2f} s (goal < 10 s), selected "
          f"{', '.join(k.path[1] for k in request.asset_selection)}; decision {label}; "
          f"requests to the endpoint: {requests_to_endpoint}; battery materializations "
          f"{batteries} -> {now} (unchanged: not re-run)")
    print(f"first full gate with the battery: {t_full:.2f} s (exit {code}); ratio {t_regate / t_full:.2f}")


if __name__ == "__main__":
    sys.exit(main())
