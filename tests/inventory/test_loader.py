from pathlib import Path

import pytest
import yaml

from aisec_pipeline.inventory import InventoryError, load_inventory, load_model

SHA = "a" * 64


def write_entry(folder: Path, **overrides) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entry = {
        "name": folder.name, "version": "1.0.0", "kind": "other", "description": "test model",
        "artifacts": [{"path": "artifacts/model.bin", "sha256": SHA}],
        "provenance": {"source": "internal://aisec/test"},
        "risk": {"harm": "low", "reversibility": "high", "eu_ai_act": {"category": "minimal"}},
    }
    entry.update(overrides)
    (folder / "model.yaml").write_text(yaml.safe_dump(entry))
    return folder


def test_valid_entry_loads(tmp_path):
    model = load_model(write_entry(tmp_path / "models" / "m1"))
    assert model.name == "m1"
    assert model.entry.digest == SHA
    assert model.path("artifacts/model.bin") == (tmp_path / "models" / "m1" / "artifacts" / "model.bin").resolve()


def test_errors_name_file_and_field(tmp_path):
    folder = write_entry(tmp_path / "models" / "m1", kind="robot", artifacts=[{"path": "x", "sha256": "nope"}])
    with pytest.raises(InventoryError) as err:
        load_model(folder)
    text = str(err.value)
    assert str(folder / "model.yaml") in text
    assert "kind" in text and "artifacts.0.sha256" in text


def test_unknown_field_rejected(tmp_path):
    with pytest.raises(InventoryError, match="scan_disabled"):
        load_model(write_entry(tmp_path / "models" / "m1", scan_disabled=True))


@pytest.mark.parametrize("bad", ["../outside.bin", "/etc/passwd", "artifacts/../../x", "~/x"])
def test_paths_may_not_escape(tmp_path, bad):
    folder = write_entry(tmp_path / "models" / "m1", artifacts=[{"path": bad, "sha256": SHA}])
    with pytest.raises(InventoryError, match="path"):
        load_model(folder)


def test_symlink_leading_outside_rejected(tmp_path):
    folder = write_entry(tmp_path / "models" / "m1", artifacts=[{"path": "link.bin", "sha256": SHA}])
    (tmp_path / "secret.bin").write_bytes(b"x")
    (folder / "link.bin").symlink_to(tmp_path / "secret.bin")
    with pytest.raises(InventoryError, match="outside"):
        load_model(folder)


def test_yaml_is_loaded_safely(tmp_path):
    folder = tmp_path / "models" / "m1"
    folder.mkdir(parents=True)
    (folder / "model.yaml").write_text("!!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(InventoryError, match="invalid YAML"):
        load_model(folder)
    assert not (folder / "pwned").exists()


def test_name_must_match_folder(tmp_path):
    with pytest.raises(InventoryError, match="must match its folder"):
        load_model(write_entry(tmp_path / "models" / "m1", name="m2"))


def test_llm_needs_endpoint_and_classifier_needs_evaluation(tmp_path):
    with pytest.raises(InventoryError, match="endpoint"):
        load_model(write_entry(tmp_path / "models" / "m1", kind="llm"))
    with pytest.raises(InventoryError, match="evaluation"):
        load_model(write_entry(tmp_path / "models" / "m2", kind="classifier"))


def test_high_risk_names_annex_area(tmp_path):
    risk = {"harm": "high", "reversibility": "low", "eu_ai_act": {"category": "high-risk"}}
    with pytest.raises(InventoryError, match="Annex III"):
        load_model(write_entry(tmp_path / "models" / "m1", risk=risk))


def test_inventory_lists_every_bad_entry(tmp_path):
    write_entry(tmp_path / "models" / "good")
    write_entry(tmp_path / "models" / "bad1", kind="?")
    write_entry(tmp_path / "models" / "bad2", version="")
    with pytest.raises(InventoryError) as err:
        load_inventory(tmp_path)
    assert "bad1" in str(err.value) and "bad2" in str(err.value)


def test_multi_artifact_digest_is_order_independent(tmp_path):
    arts = [{"path": "a.bin", "sha256": "1" * 64}, {"path": "b.bin", "sha256": "2" * 64}]
    one = load_model(write_entry(tmp_path / "models" / "m1", artifacts=arts)).entry.digest
    two = load_model(write_entry(tmp_path / "models" / "m2", artifacts=arts[::-1])).entry.digest
    assert one == two and len(one) == 64


def test_a_model_folder_symlinked_outside_the_inventory_is_refused_naming_it(tmp_path):
    """The attack: a symlinked model folder pointing outside the repository was followed, gated
    and approved (symlinked artifacts were refused, folders were not)."""
    outside = write_entry(tmp_path / "elsewhere" / "m1")
    root = tmp_path / "assets"
    write_entry(root / "models" / "ok")
    (root / "models" / "m1").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InventoryError) as err:
        load_inventory(root)
    assert str(root / "models" / "m1") in str(err.value) and "outside the inventory" in str(err.value)


def test_a_models_folder_symlinked_outside_is_refused(tmp_path):
    write_entry(tmp_path / "elsewhere" / "models" / "m1")
    root = tmp_path / "assets"
    root.mkdir()
    (root / "models").symlink_to(tmp_path / "elsewhere" / "models", target_is_directory=True)
    with pytest.raises(InventoryError, match="outside the inventory"):
        load_inventory(root)


def test_a_registry_entry_symlinked_outside_is_refused(tmp_path):
    outside = write_entry(tmp_path / "elsewhere" / "m1")
    folder = tmp_path / "assets" / "models" / "m1"
    folder.mkdir(parents=True)
    (folder / "model.yaml").symlink_to(outside / "model.yaml")
    with pytest.raises(InventoryError, match="leads outside"):
        load_model(folder)


def test_a_symlinked_folder_inside_the_inventory_still_loads(tmp_path):
    root = tmp_path / "assets"
    write_entry(root / "store" / "m1")
    (root / "models").mkdir()
    (root / "models" / "m1").symlink_to(root / "store" / "m1", target_is_directory=True)
    assert [m.name for m in load_inventory(root)] == ["m1"]
