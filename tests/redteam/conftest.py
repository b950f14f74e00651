"""Fixtures for the red-team tests: scripted LLM servers over real HTTP (tests/support/fake_llm.py)."""

from __future__ import annotations

import pytest

from fake_llm import FakeLLM


@pytest.fixture
def fake_llm():
    servers: list[FakeLLM] = []

    def start(behaviour: str = "obedient", **kwargs) -> FakeLLM:
        server = FakeLLM(behaviour, **kwargs).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def real_report(tmp_path_factory):
    """A complete garak report from a real battery against the refusing server."""
    from aisec_pipeline.governance.policy import InjectionPolicy
    from aisec_pipeline.redteam.runner import run_battery
    from aisec_pipeline.redteam.target import Target

    folder = tmp_path_factory.mktemp("real_report")
    battery = InjectionPolicy(probes=("promptinject.HijackHateHumans", "aisec.SystemPromptCanary"),
                              prompt_cap=2, max_attack_success_rate=0.1)
    with FakeLLM("refusing") as server:
        target = Target("openai", "You are a test assistant.", base_url=server.base_url,
                        model="fake")
        result = run_battery(target, battery, folder)
    assert not result.problems, result.problems
    return folder / "reports" / "battery.report.jsonl", battery
