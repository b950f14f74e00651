"""One convention each, checked over the source: exit codes come from `aisec_pipeline.exits`,
error lines start `aisec: `, and no command writes its own prefix or bare exit numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from aisec_pipeline.exits import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, error_line, fail

PACKAGE = Path(__file__).resolve().parents[1] / "aisec_pipeline"
COMMANDS = sorted([*PACKAGE.glob("*/*command.py"), PACKAGE / "cli.py", PACKAGE / "redteam" / "serve.py"])


def test_the_error_line_is_one_line_with_the_prefix(capsys) -> None:
    assert fail("inventory error:\nmodels/m1/model.yaml: bad\n", EXIT_USAGE) == EXIT_USAGE
    assert capsys.readouterr().err == "aisec: inventory error:; models/m1/model.yaml: bad\n"
    assert (EXIT_OK, EXIT_BLOCKED, EXIT_USAGE) == (0, 1, 2)
    assert error_line("x") == "aisec: x"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_commands_print_errors_with_the_one_prefix(path: Path) -> None:
    """Every literal written to stderr that reads like an error starts with `aisec: `."""
    source = path.read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print" and any(
                k.arg == "file" and ast.unparse(k.value) == "sys.stderr" for k in node.keywords):
            text = ast.unparse(node.args[0]) if node.args else ""
            assert not re.match(r"""f?['"](error|aisec [a-z]+: (error|invalid|could not|cannot))""", text), \
                f"{path.name}: {text}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_commands_return_named_exit_codes(path: Path) -> None:
    """`return 0/1/2` (alone or in a conditional) is written with the names from exits.py."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Return) and node.value is not None:
            values = [node.value] if not isinstance(node.value, ast.IfExp) else [node.value.body, node.value.orelse]
            bare = [v.value for v in values if isinstance(v, ast.Constant) and v.value in (0, 1, 2)
                    and not isinstance(v.value, bool)]
            assert not bare, f"{path.name}:{node.lineno}: return {ast.unparse(node.value)}"


def test_exit_codes_are_defined_once() -> None:
    defined = [p.name for p in PACKAGE.rglob("*.py")
               if re.search(r"^EXIT_\w+(, EXIT_\w+)* = ", p.read_text(), re.MULTILINE)]
    assert defined == ["exits.py"]
