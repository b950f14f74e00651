"""TorchScript code (`<archive>/code/**.py` in a torch.jit.save archive).

It reads like Python but is compiled by TorchScript, which imports nothing and calls only
TorchScript builtins and registered operators. What can still reach the file system is a handful
of operators (reading a file into a tensor, saving, loading a library): a reference to one of
them, or code that does not parse as the Python subset TorchScript emits, is a finding.
"""

from __future__ import annotations

import ast

from ..context import ScanContext

# Operator and builtin names that read or write files, load code or escape to Python (TorchScript's
# own getattr takes only constant module attribute names, so it is not listed).
SUSPICIOUS = frozenset({
    "from_file", "save", "load", "_load_for_mobile", "load_library", "open", "system", "popen",
    "__import__", "eval", "exec", "compile", "globals", "subprocess", "os",
    "_load_from_bytes", "_save_for_mobile", "_save_parameters",
})


def check_code(data: bytes, ctx: ScanContext, label: str) -> None:
    try:
        tree = ast.parse(data.decode("utf-8"))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        ctx.flag("torchscript.suspicious-code", f"not the Python subset TorchScript writes ({type(exc).__name__})", label)
        return
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            ctx.flag("torchscript.suspicious-code", f"an import statement (line {node.lineno}): TorchScript writes none", label)
        elif name in SUSPICIOUS:
            ctx.flag("torchscript.suspicious-code", f"refers to {name!r} (line {node.lineno})", label)
    ctx.flag("torchscript.code", "TorchScript source: compiled by TorchScript, not imported as Python", label)
