from __future__ import annotations

import pytest

from aisec_pipeline.cards.parse import MAX_CARD_BYTES
from aisec_pipeline.cards.validate import card_verdict, validate_card
from aisec_pipeline.verdict import Status

SHA = "ab" * 32  # an artifact sha256


def only_problem(path) -> str:
    result = validate_card(path)
    assert not result.valid and result.card is None
    assert card_verdict(result, {"m": SHA}).status is Status.FAILED
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def test_malformed_yaml(tmp_path):
    path = tmp_path / "card.md"
    path.write_text("---\nmodel_name: [unclosed\nowner: x\n---\nbody\n", encoding="utf-8")
    assert only_problem(path).startswith("header: invalid YAML at line")


def test_no_front_matter(tmp_path):
    path = tmp_path / "card.md"
    path.write_text("# Just Markdown\n\nNo header here.\n", encoding="utf-8")
    assert only_problem(path).startswith("header: no YAML front matter")


def test_unclosed_front_matter(tmp_path):
    path = tmp_path / "card.md"
    path.write_text("---\nmodel_name: x\n", encoding="utf-8")
    assert only_problem(path).startswith("header: no YAML front matter")


@pytest.mark.parametrize("header", ["- a list\n- of items\n", "just a string\n", ""])
def test_header_not_a_mapping(tmp_path, header):
    path = tmp_path / "card.md"
    path.write_text(f"---\n{header}---\nbody\n", encoding="utf-8")
    assert only_problem(path).startswith("header: expected a mapping")


def test_binary_file(tmp_path):
    path = tmp_path / "card.md"
    path.write_bytes(b"\x80\x04\x95\x00\x00pickle\x00bytes")
    assert only_problem(path).startswith("file: binary content")


def test_non_utf8_text(tmp_path):
    path = tmp_path / "card.md"
    path.write_bytes("---\nsummary: caf\xe9\n---\n".encode("latin-1"))
    assert only_problem(path) == "file: not UTF-8 text (invalid byte at offset 16)"


def test_oversized_file(tmp_path):
    path = tmp_path / "card.md"
    path.write_bytes(b"---\na: b\n---\n" + b"x" * MAX_CARD_BYTES)
    assert only_problem(path).startswith("file: larger than")


def test_directory_instead_of_file(tmp_path):
    assert only_problem(tmp_path).startswith("file: cannot read")


def test_yaml_aliases_refused(tmp_path):
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    path = tmp_path / "card.md"
    path.write_text(f"---\n{bomb}---\n", encoding="utf-8")
    assert "aliases" in only_problem(path)


def test_duplicate_keys_refused(write_card, header):
    path = write_card(header)
    text = path.read_text(encoding="utf-8").replace("---\n", "---\nowner: {name: Ops}\n", 1)
    path.write_text(text, encoding="utf-8")
    assert "duplicate key 'owner'" in only_problem(path)


def test_python_tags_are_not_constructed(tmp_path):
    path = tmp_path / "card.md"
    path.write_text("---\na: !!python/object/apply:os.system ['echo pwned']\n---\n",
                    encoding="utf-8")
    assert only_problem(path).startswith("header: invalid YAML")


def test_bom_and_crlf_are_accepted(write_card, header, entry):
    path = write_card(header)
    text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert validate_card(path, entry).valid
