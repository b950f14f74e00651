"""No inventory input stalls the gate: each parser that reads one, fed 1 MB of crafted input.

Each parser is linear in its input, or refuses input over a size cap before parsing it (YAML
files, card headers, chat templates), so no 1 MB input takes more than about a second.
See `stall.py` for how time is judged without a fixed clock.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml
from stall import MB, assert_no_stall, fill

from aisec_pipeline.cards.parse import (MAX_HEADER_BYTES, has_split_table, parse_card,
                                         splits_section_span)
from aisec_pipeline.cards.schema import ANGLE_PLACEHOLDER, EMAIL_PATTERN, PLACEHOLDER, Owner
from aisec_pipeline.cards.validate import validate_card
from aisec_pipeline.inventory import InventoryError
from aisec_pipeline.inventory.loader import MAX_YAML_BYTES, read_yaml

HEADER = yaml.safe_dump({"model_name": "m", "model_version": "1.0.0", "summary": "A model.",
                         "owner": {"name": "Amara Okafor", "email": "amara.okafor@example.org"}})


def card(body: bytes) -> bytes:
    return b"---\n" + HEADER.encode() + b"---\n" + body


def ordinary_card(size: int) -> bytes:
    paragraph = (b"## Section\n\nSome text about the model, its data and its limits.\n\n"
                 b"| metric | value |\n|---|---|\n| accuracy | 0.9 |\n\n")
    return fill(paragraph, size, head=card(b""))


CARD_BODIES = {
    # the attack: a heading whose title has a long run of blanks (quadratic backtracking)
    "heading with a blank run": lambda n: fill(b" ", n, head=card(b"# a"), tail=b"b\n"),
    "heading with tabs and hashes": lambda n: fill(b" \t#", n, head=card(b"# a"), tail=b"b"),
    "heading made of hashes": lambda n: fill(b"#", n, head=card(b"")),
    "many heading lines": lambda n: fill(b"# \n", n, head=card(b"")),
    "splits heading then blanks": lambda n: fill(b" |", n, head=card(
        b"## Demographic performance splits\n"), tail=b"x\n"),
    "a table row of pipes": lambda n: fill(b"| ", n, head=card(b"## Demographic performance splits\n")),
    "CRLF lines": lambda n: fill(b"#\t\r\n", n, head=card(b"")),
    "no closing front matter": lambda n: fill(b"key: value\n", n, head=b"---\n"),
}


def parse_and_validate_card(data: bytes, tmp: Path) -> None:
    path = tmp / "card.md"
    path.write_bytes(data)
    validation = validate_card(path)
    if validation.card is not None:
        has_split_table(validation.card.body)
    text = data.decode("utf-8", errors="replace")
    splits_section_span(text)
    has_split_table(text)


def test_card_parsing_never_stalls(tmp_path):
    assert_no_stall(lambda data: parse_and_validate_card(data, tmp_path), ordinary_card, CARD_BODIES)


def yaml_header(lines: bytes) -> bytes:
    return b"---\n" + lines + b"\n---\n# body\n"


CARD_HEADERS = {
    "many keys": lambda n: fill(b"k: 1\n", n, head=b"---\n"),  # never closed: the whole file
    "many keys, closed": lambda n: fill(b"key: value\n", n, head=b"---\n", tail=b"---\n"),
    "deep flow nesting": lambda n: fill(b"[", n, head=b"---\na: ", tail=b"\n---\n"),
    "long plain scalar": lambda n: fill(b"x ", n, head=b"---\nsummary: ", tail=b"\n---\n"),
    "long quoted scalar": lambda n: fill(b"''", n, head=b"---\nsummary: '", tail=b"'\n---\n"),
    "alias bomb": lambda n: fill(b"[*a, *a]", n, head=b"---\na: &a [x]\nb: [", tail=b"]\n---\n"),
}


def test_card_headers_are_capped_and_never_stall(tmp_path):
    assert_no_stall(lambda data: parse_and_validate_card(data, tmp_path), ordinary_card, CARD_HEADERS)
    big = tmp_path / "big.md"
    big.write_bytes(b"---\n" + b"k: v\n" * (MAX_HEADER_BYTES // 5 + 1) + b"---\n# body\n")
    assert any("over the 65,536-byte limit" in p for p in validate_card(big).problems)
    ordinary = tmp_path / "ordinary.md"
    ordinary.write_bytes(ordinary_card(10_000))
    assert parse_card(ordinary).header is not None, "an ordinary header still parses"


def match_all(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    PLACEHOLDER.fullmatch(text)
    ANGLE_PLACEHOLDER.fullmatch(text)
    EMAIL_PATTERN.fullmatch(text)
    for value in (text, text.split("@")[0] + "@example.org"):
        try:
            Owner(name=value, email=value)
        except ValueError:
            pass  # refusing is fine; taking long is not


SCHEMA_VALUES = {
    "email local part of dots": lambda n: fill(b".", n, head=b"a@", tail=b"!"),
    "email domain of labels": lambda n: fill(b"a.", n, head=b"a@", tail=b"1"),
    "angle brackets": lambda n: fill(b"<", n, tail=b">x"),
    "placeholder words": lambda n: fill(b"todo ", n),
    "word separators": lambda n: fill(b"a_-", n),
}


def test_card_value_patterns_never_stall():
    assert_no_stall(match_all, lambda n: fill(b"Amara Okafor ", n), SCHEMA_VALUES)


def read_yaml_bytes(data: bytes, tmp: Path) -> None:
    path = tmp / "model.yaml"
    path.write_bytes(data)
    try:
        read_yaml(path)
    except InventoryError:
        pass  # refusing is fine; taking long is not


YAML_FILES = {
    "many keys": lambda n: b"".join(b"k%d: 1\n" % i for i in range(n // 5))[:n],
    "a long sequence": lambda n: fill(b"- a\n", n),
    "deep flow nesting": lambda n: fill(b"[", n),
    "deep block nesting": lambda n: fill(b"x", n, head=b"".join(b"  " * i + b"k:\n" for i in range(100))),
    "a long template": lambda n: fill(b"$INPUT${SYSTEM}$$", n, head=b"request_template: '", tail=b"'"),
    "alias bomb": lambda n: fill(b"[*a, *a]", n, head=b"a: &a [x]\nb: [", tail=b"]"),
}


def test_inventory_yaml_is_capped_and_never_stalls(tmp_path):
    assert_no_stall(lambda data: read_yaml_bytes(data, tmp_path),
                    lambda n: fill(b"description: An ordinary registry entry line.\n", n), YAML_FILES,
                    sizes=(16_000, MAX_YAML_BYTES, MB))
    path = tmp_path / "big.yaml"
    path.write_bytes(fill(b"a: 1\n", MAX_YAML_BYTES + 1))
    with pytest.raises(InventoryError, match="limit"):
        read_yaml(path)


def test_inventory_yaml_refuses_aliases_and_duplicate_keys(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("risk: {harm: high}\nrisk: {harm: low}\n")
    with pytest.raises(InventoryError, match="duplicate key 'risk'"):
        read_yaml(path)
    path.write_text("a: &a [x, x]\nb: [*a, *a]\n")
    with pytest.raises(InventoryError, match="aliases"):
        read_yaml(path)


def csv_header(data: bytes, tmp: Path) -> None:
    from aisec_pipeline.fairness.tables import TableError, header

    path = tmp / "evaluation.csv"
    path.write_bytes(data)
    try:
        header(path)
    except TableError:
        pass


CSV_HEADERS = {
    "one long header line": lambda n: fill(b"c,", n, tail=b"\n"),
    "one huge quoted field": lambda n: fill(b"x", n, head=b'"'),
    "quotes doubled": lambda n: fill(b'""', n, head=b'"', tail=b'"\n'),
    "no newline at all": lambda n: fill(b"abc", n),
}


def test_csv_headers_never_stall(tmp_path):
    def ordinary(n: int) -> bytes:
        rows = io.StringIO()
        csv.writer(rows).writerow(["label", "prediction", "sex"])
        return fill(b"1,0,Female\n", n, head=rows.getvalue().encode())

    assert_no_stall(lambda data: csv_header(data, tmp_path), ordinary, CSV_HEADERS)


def chat_template(data: bytes) -> None:
    from aisec_pipeline.scanning.context import ScanContext
    from aisec_pipeline.scanning.formats.gguf_file import check_template

    check_template(data.decode("utf-8", errors="replace"), ScanContext(), "template")


CHAT_TEMPLATES = {
    "attribute chain": lambda n: fill(b".b", n, head=b"{{ a", tail=b" }}"),
    "additions": lambda n: fill(b"+a", n, head=b"{{ a", tail=b" }}"),
    "filters": lambda n: fill(b"|b", n, head=b"{{ a", tail=b" }}"),
    "opening braces": lambda n: fill(b"{{", n),
    "unterminated comment": lambda n: fill(b"x", n, head=b"{#"),
}


def test_chat_templates_are_capped_and_never_stall():
    from aisec_pipeline.scanning.context import ScanContext
    from aisec_pipeline.scanning.formats.gguf_file import MAX_TEMPLATE_CHARS, check_template

    assert_no_stall(chat_template, lambda n: fill(b"{{ message['content'] }}\n", n), CHAT_TEMPLATES)
    ctx = ScanContext()
    check_template("x" * (MAX_TEMPLATE_CHARS + 1), ctx, "template")
    assert [f.rule for f in ctx.findings] == ["error.unparseable-template"], "an oversized template must block"


def signature_bundle(data: bytes, folder: Path) -> None:
    from aisec_pipeline.provenance.signature import SignatureError, verify_artifacts

    (folder / "bundle.sig").write_bytes(data)
    try:
        verify_artifacts(folder, folder / "key.pub", folder / "bundle.sig")
    except SignatureError:
        pass  # refusing is what a forged bundle gets; taking long is not


def ordinary_bundle(size: int) -> bytes:
    head = (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": '
            b'{"publicKey": {"hint": "x"}}, "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", '
            b'"signatures": [{"sig": "AA=="}], "payload": "')
    return fill(b"A", size, head=head, tail=b'"}}')


SIGNATURE_BUNDLES = {
    "deep arrays": lambda n: fill(b"[", n),
    "deep objects": lambda n: fill(b'{"a":', n),
    "many keys": lambda n: b"{" + b",".join(b'"k%d": 1' % i for i in range(n // 8))[:n - 2] + b"}",
    "a long string": lambda n: fill(b"x", n, head=b'{"mediaType": "', tail=b'"}'),
    "escapes": lambda n: fill(b"\\u0041", n, head=b'{"mediaType": "', tail=b'"}'),
}


def test_signature_bundles_never_stall(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "model.bin").write_bytes(b"weights")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "key.pub").write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    assert_no_stall(lambda data: signature_bundle(data, tmp_path), ordinary_bundle, SIGNATURE_BUNDLES)
