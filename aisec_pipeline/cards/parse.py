"""Split a card file into its YAML header and Markdown body, safely and in linear time.

Every failure becomes a problem string naming what is wrong; nothing here raises on bad input.
The header goes through the inventory's strict YAML loader (safe, no aliases: no "billion
laughs", no duplicate keys: a second `owner:` must not silently replace the first), capped at
MAX_HEADER_BYTES. The body is searched with patterns that run in linear time: a crafted card
line cannot stall the gate.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..inventory.yaml_text import load_strict

MAX_CARD_BYTES = 1_000_000
MAX_HEADER_BYTES = 64 * 1024  # a card header is a page of YAML; parsing it stays well under 1 s
SPLITS_HEADING = "Demographic performance splits"
# Linear by construction: every repeated part is followed by something it cannot match, so a
# failed attempt never re-reads what it read (the heading pattern this replaced, `(.+?)` then
# `[ \t#]*$`, re-read every run of blanks: 5.7 s for one 32 KB line, hours for 1 MB).
SPLITS_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+" + re.escape(SPLITS_HEADING) + r"[ \t#\r]*$",
                                 re.MULTILINE | re.IGNORECASE)
TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t\r]*$", re.MULTILINE)


@dataclass(frozen=True)
class ParsedCard:
    header: dict[str, Any] | None  # None when the header could not be read
    body: str
    sha256: str | None  # of the file's bytes, when it could be read
    problems: tuple[str, ...] = ()
    found: bool = True


def parse_card(path: Path) -> ParsedCard:
    """Read `path` (at most MAX_CARD_BYTES) and split it into header mapping and body."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CARD_BYTES + 1)
    except FileNotFoundError:
        return ParsedCard(None, "", None, (f"no model card: {path}",), found=False)
    except OSError as exc:
        return ParsedCard(None, "", None, (f"file: cannot read {path}: {exc.strerror or exc}",))
    sha256 = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_CARD_BYTES:
        return ParsedCard(None, "", None, (f"file: larger than the {MAX_CARD_BYTES:,}-byte cap",))
    header, body, problems = parse_card_bytes(data)
    return ParsedCard(header, body, sha256, tuple(problems))


def parse_card_bytes(data: bytes) -> tuple[dict[str, Any] | None, str, list[str]]:
    if b"\x00" in data:
        return None, "", ["file: binary content (NUL bytes): a card is UTF-8 Markdown text"]
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        return None, "", [f"file: not UTF-8 text (invalid byte at offset {exc.start})"]
    split = split_front_matter(text)
    if split is None:
        return None, text, ["header: no YAML front matter: the card must start with a line '---', "
                            "the YAML header, then a closing '---' line"]
    header_text, body = split
    header, problem = load_header(header_text)
    return header, body, [problem] if problem else []


def split_front_matter(text: str) -> tuple[str, str] | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1:])
    return None


def load_header(header_text: str) -> tuple[dict[str, Any] | None, str | None]:
    size = len(header_text.encode("utf-8"))
    if size > MAX_HEADER_BYTES:
        return None, (f"header: {size:,} bytes of YAML, over the {MAX_HEADER_BYTES:,}-byte limit "
                      "for a card header: keep the header to the card's keys")
    try:
        header = load_strict(header_text)
    except yaml.MarkedYAMLError as exc:
        line = f" at line {exc.problem_mark.line + 2}" if exc.problem_mark else ""  # +1 for '---'
        return None, f"header: invalid YAML{line}: {exc.problem or exc.context}"
    except (yaml.YAMLError, RecursionError) as exc:
        return None, f"header: invalid YAML: {type(exc).__name__}"
    if not isinstance(header, dict):
        return None, f"header: expected a mapping of keys, got {type(header).__name__}"
    bad_keys = [k for k in header if not isinstance(k, str)]
    if bad_keys:
        return None, f"header: every key must be text; found {bad_keys!r}"
    return header, None


def splits_section_span(body: str) -> tuple[int, int] | None:
    """(start, end) of the text under the 'Demographic performance splits' heading, if any:
    up to the next heading of the same or a higher level."""
    found = SPLITS_HEADING_LINE.search(body)
    if found is None:
        return None
    level = len(found.group(1))
    following = re.compile(rf"^#{{1,{level}}}[ \t]", re.MULTILINE).search(body, found.end())
    return found.end(), following.start() if following else len(body)


def has_split_table(body: str) -> bool:
    span = splits_section_span(body)
    return span is not None and TABLE_ROW.search(body, span[0], span[1]) is not None


EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def card_owner_name(path: Path) -> str | None:
    """The owner name the card states, if any (who may bind its evaluation, whose review of it
    does not count); the card check, not this, judges whether it is a named person."""
    return owner_name(parse_card(path).header)


def owner_name(header: dict | None) -> str | None:
    """The owner name a parsed card header states, if any."""
    owner = (header or {}).get("owner")
    name = owner.get("name") if isinstance(owner, dict) else None
    return name if isinstance(name, str) else None


def card_owner_email(path: Path) -> str | None:
    """The owner email the card states, if well-formed (for Dagster asset owners); the card
    check, not this, judges whether the owner is a named person."""
    parsed = parse_card(path)
    owner = (parsed.header or {}).get("owner")
    email = owner.get("email") if isinstance(owner, dict) else None
    return email if isinstance(email, str) and EMAIL.match(email) else None
