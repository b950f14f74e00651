"""Does a parser stall on crafted input? Measured against itself, never against a fixed clock.

`assert_no_stall` times the parser on an ordinary input of the same size (the baseline, best of
three), then on each crafted input at growing sizes (16 KB, 128 KB, 1 MB) and fails at the first
size that takes longer than max(1 s, 10 x the baseline), twice (a slow first reading triggers
a second reading of both, so a burst of load elsewhere does not fail the test). A linear parser sits near 1x; the
quadratic heading regex this replaced needed 1.5 s at 16 KB and two hours at 1 MB, so the
bound is loose enough to survive a loaded machine and tight enough to catch a stall early.
"""

from __future__ import annotations

import time
from typing import Callable

MB = 1_000_000
SIZES = (16_000, 128_000, MB)
FLOOR_SECONDS = 1.0
SLACK = 10


def seconds(parse: Callable[[bytes], object], data: bytes, rounds: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        parse(data)
        best = min(best, time.perf_counter() - start)
    return best


def fill(pattern: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """`head`, then `pattern` repeated, then `tail`: exactly `size` bytes."""
    room = size - len(head) - len(tail)
    return head + (pattern * (room // len(pattern) + 1))[:room] + tail


def assert_no_stall(parse: Callable[[bytes], object], ordinary: Callable[[int], bytes],
                    crafted: dict[str, Callable[[int], bytes]], sizes: tuple[int, ...] = SIZES) -> None:
    """`ordinary(size)` / each `crafted[name](size)` build an input of `size` bytes."""
    def bound() -> float:
        return max(FLOOR_SECONDS, SLACK * seconds(parse, ordinary(MB), rounds=3))

    limit = bound()
    for name, build in crafted.items():
        for size in sizes:
            data = build(size)
            assert len(data) == size, (name, size, len(data))
            took = seconds(parse, data)
            if took > limit:  # a burst of load from elsewhere? measure both again before judging
                limit, took = max(limit, bound()), min(took, seconds(parse, data, rounds=2))
            assert took <= limit, (f"{name}: {size:,} bytes took {took:.2f} s, over {limit:.2f} s "
                                   "(max of 1 s and 10x an ordinary input of 1 MB)")
