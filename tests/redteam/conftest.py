"""Fixtures for the red-team tests: scripted LLM servers over real HTTP (tests/support/fake_llm.py)."""

from __future__ import annotations

import sys

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


@pytest.fixture
def install_targets(tmp_path, monkeypatch):
    """Install a package `acme_bots` that registers targets in the `aisec.targets` group."""
    folder = tmp_path / "site"

    def install(source: str, entry_points: dict[str, str]) -> None:
        folder.mkdir()
        (folder / "acme_bots.py").write_text(source, encoding="utf-8")
        dist = folder / "acme_bots-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-bots\nVersion: 1.0\n")
        lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
        (dist / "entry_points.txt").write_text(f"[aisec.targets]\n{lines}", encoding="utf-8")
        monkeypatch.syspath_prepend(str(folder))
        monkeypatch.delitem(sys.modules, "acme_bots", raising=False)  # another test's version

    return install


@pytest.fixture(scope="session")
def real_report(tmp_path_factory):
    """A complete garak report from a real battery against the refusing server."""
    from aisec_pipeline.governance.policy import InjectionPolicy
    from aisec_pipeline.redteam.runner import run_battery
    from aisec_pipeline.redteam.target import Target

    folder = tmp_path_factory.mktemp("real_report")
    battery = InjectionPolicy(probes=("promptinject.HijackHateHumans", "aisec.SystemPromptCanary"),
                              prompt_cap=2, max_attack_success_rate=0.8)  # 0/2 shows < 78%
    with FakeLLM("refusing") as server:
        target = Target("openai", "You are a test assistant.", base_url=server.base_url,
                        model="fake")
        result = run_battery(target, battery, folder)
    assert not result.problems, result.problems
    return folder / "reports" / "battery.report.jsonl", battery
