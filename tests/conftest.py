"""Shared fixtures. Every test gets its own Dagster instance folder; nothing touches ~/.dagster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_INVENTORY = REPO_ROOT / "assets"


@pytest.fixture(autouse=True, scope="session")
def _no_shared_dagster_home(tmp_path_factory):
    """A command that opens the Dagster instance never writes to the user's default instance.
    Session-wide, so module and test fixtures that set their own DAGSTER_HOME still win."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home_default")))
        yield


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def inventory_copy(tmp_path) -> Path:
    """A writable copy of the demo inventory (artifacts included), for tests that change it."""
    target = tmp_path / "assets"
    shutil.copytree(DEMO_INVENTORY, target, symlinks=True)
    return target
