"""Issue 19: a model repository is scanned as a unit, each file by content and role."""

from __future__ import annotations

import shutil

from aisec_pipeline.scanning import scan_paths, scan_verdict
from aisec_pipeline.verdict import Status


def test_a_clean_hugging_face_folder_passes_as_a_whole(corpus):
    reports = scan_paths([corpus.root / "hf_clean"])
    verdict = scan_verdict(reports)
    assert verdict.status is Status.PASSED, verdict.reasons
    formats = {r.path.rsplit("/", 1)[-1]: r.format for r in reports}
    assert formats["config.json"] == "json" and formats["model.safetensors"] == "safetensors"
    assert formats["chat_template.jinja"] == "chat-template" and formats["tokenizer.model"] == "sentencepiece"
    assert formats["README.md"] == "text"


def test_a_malicious_folder_names_each_threat_and_who_imports_the_code(corpus):
    verdict = scan_verdict(scan_paths([corpus.root / "hf_evil"]))
    assert verdict.status is Status.FAILED
    reasons = "\n".join(verdict.reasons)
    assert "config.json: repo.remote-code: auto_map.AutoModelForCausalLM = 'modeling_tiny.TinyModel'" in reasons
    assert ("modeling_tiny.py: repo.python-code: Python source: imported by config.json "
            "auto_map.AutoModelForCausalLM (runs with trust_remote_code)") in reasons
    assert "tokenizer_config.json: repo.template-injection: $.chat_template: attribute access .popen" in reasons
    assert "install.sh: repo.script" in reasons
    assert corpus.markers_present() == []


def test_a_clones_git_folder_is_not_scanned(corpus, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(corpus.root / "hf_clean", clone)
    hooks = clone / ".git" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "pre-commit.sample").write_text("#!/bin/sh\nexit 0\n")
    reports = scan_paths([clone])
    assert not any("/.git/" in r.path for r in reports)
    assert scan_verdict(reports).status is Status.PASSED


def test_unread_files_name_their_role(tmp_path):
    (tmp_path / "flax_model.msgpack").write_bytes(b"\x82\xa4bias\xc4\x04\x00\x00\x00\x00")
    verdict = scan_verdict(scan_paths([tmp_path]))
    assert verdict.status is Status.UNASSESSED
    assert "by its name 'flax_model.msgpack' it would be Flax weights (msgpack)" in verdict.reasons[0]
