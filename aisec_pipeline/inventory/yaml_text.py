"""YAML from the inventory: safe, bounded in time, strict.

One loader for every YAML text the gate reads from an inventory (registry entries, the policy,
regulations, deployment manifests, card headers): libyaml's C parser when PyYAML has it (5-6x
faster than the pure-Python one), the safe constructor only (plain data, never objects), and
two refusals: aliases (`*name`: a "billion laughs" document expands exponentially in whatever
walks it, pydantic included) and duplicate keys (a second `harm:` must not silently replace the
first). Parsing is linear in the text; callers cap the text's size before parsing, so the time
is bounded too (about 0.3 s for 256 KB of the slowest shape measured, 30,000 one-line keys;
registry entries and policies are capped at 64 KB, card headers at 64 KB).
"""

from __future__ import annotations

import gc
from typing import Any

import yaml

_SAFE_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SAFE_BASE):  # type: ignore[misc, valid-type]
    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        refuse_aliases(node)
        return self.construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}",
                                           problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def refuse_aliases(root: yaml.Node) -> None:
    """An alias makes the composed graph reach one node twice: refuse the second visit
    (iteratively: a deep document must not exhaust the stack)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.MarkedYAMLError(problem="aliases (*name) and merge keys (<<) are not allowed",
                                       problem_mark=node.start_mark)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_strict(text: str) -> Any:
    """Parse `text` (already size-capped by the caller). Raises yaml.YAMLError or
    RecursionError on bad input.

    The cyclic garbage collector is paused meanwhile: parsing allocates many small objects and
    none in cycles, and in a process that already holds many (Dagster loaded) its collections
    made a 128 KB parse 4x slower."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeConstructor loader: plain data only
    finally:
        if paused:
            gc.enable()
