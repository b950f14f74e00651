"""The README documents every `aisec` command and every flag, walked from the real parser.

A flag counts as documented when it appears in its command's row of "The command line" table,
or in the README's one sentence on flags every inventory-reading command shares.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from aisec_pipeline.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
COMMON_LINE = "Every command that reads the inventory"


def command_rows() -> dict[str, str]:
    """Top-level command -> the first cell of its row(s) in the command-line table."""
    rows: dict[str, str] = {}
    for line in README.splitlines():
        found = re.match(r"\| `aisec ([a-z-]+)", line)
        if found:
            rows[found.group(1)] = rows.get(found.group(1), "") + line.split(" | ")[0]
    return rows


def common_line() -> str:
    lines = [line for line in README.splitlines() if line.startswith(COMMON_LINE)]
    assert len(lines) == 1, f"README must have one line starting {COMMON_LINE!r}"
    return lines[0]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def flags(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, flag) for every long option, nested subcommands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from flags(sub, (*path, name))
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                yield path, option


def mentions(text: str, flag: str) -> bool:
    return re.search(re.escape(flag) + r"(?![\w-])", text) is not None


PARSER = build_parser()
FLAGS = sorted(set(flags(PARSER)))


def test_every_command_has_a_row() -> None:
    assert sorted(subcommands(PARSER)) == sorted(command_rows())


@pytest.mark.parametrize(("path", "flag"), FLAGS, ids=[" ".join(p) + " " + f for p, f in FLAGS])
def test_every_flag_is_in_the_readme(path: tuple[str, ...], flag: str) -> None:
    row = command_rows().get(path[0], "")
    assert mentions(row, flag) or mentions(common_line(), flag), \
        f"`aisec {' '.join(path)} {flag}` is not in README.md's row for `aisec {path[0]}`"


def test_the_walk_sees_nested_and_shared_flags() -> None:
    """The walk itself can fail: it must reach nested subcommands' own flags."""
    assert (("incident", "open"), "--severity") in FLAGS
    assert (("gate",), "--inventory") in FLAGS
    assert not mentions("--inventory-root", "--inventory")


def test_the_shared_line_names_only_commands_that_take_its_flags() -> None:
    common = common_line()
    named = set(re.findall(r"`([a-z]+)(?: [a-z]+)?`", common.split(" takes ")[0]))
    shared = set(re.findall(r"`(--[a-z-]+)", common))
    for command in named:
        taking = {flag for path, flag in FLAGS if path[0] == command}
        assert shared <= taking, f"`aisec {command}` does not take {shared - taking}"


def registry_fields(model, prefix: str = "") -> set[str]:
    """Every field of the registry entry schema, nested ones as `parent.child`."""
    from pydantic import BaseModel

    found = set()
    for name, field in model.model_fields.items():
        found.add(prefix + name)
        for inner in getattr(field.annotation, "__args__", ()) + (field.annotation,):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found |= registry_fields(inner, f"{prefix}{name}.")
            for deeper in getattr(inner, "__args__", ()):
                if isinstance(deeper, type) and issubclass(deeper, BaseModel):
                    found |= registry_fields(deeper, f"{prefix}{name}.")
    return found


def test_the_readmes_complete_registry_entry_names_every_field() -> None:
    from aisec_pipeline.inventory.schema import RegistryEntry

    block = README.split("A complete registry entry:", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    written = set(re.findall(r"^\s*(?:- )?([a-z_0-9]+):", block, re.MULTILINE))
    fields = registry_fields(RegistryEntry)
    assert "evaluation.max_null_fraction" in fields and "artifacts.trusted_types" in fields
    missing = sorted(f for f in fields if f.rsplit(".", 1)[-1] not in written)
    assert not missing, f"README's complete registry entry lacks {missing}"


def test_the_readmes_layout_names_every_module_and_package() -> None:
    package = Path(__file__).resolve().parents[1] / "aisec_pipeline"
    layout = README.split("## Layout", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^  ([a-z_]+(?:\.py|/))", layout, re.MULTILINE))
    present = {p.name + ("/" if p.is_dir() else "") for p in package.iterdir()
               if not p.name.startswith("__") and (p.suffix == ".py" or (p / "__init__.py").exists()
                                                   or p.name == "defs")}
    assert present - listed == set(), "README's layout lacks these"
