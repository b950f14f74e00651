"""Exit codes and the error line, the same for every `aisec` command.

0 success (approved, safe, passed), 1 blocked (unsafe, failed, needs review, refused), 2 usage or
inventory error (nothing judged); a gate stopped by a signal exits 128 + the signal's number
(130 SIGINT, 143 SIGTERM). An error is one line on stderr starting `aisec: `, never a traceback.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2
EXIT_SIGNAL_BASE = 128
ERROR_PREFIX = "aisec: "


def error_line(message: object) -> str:
    """The one line an error prints: the prefix, then the message on a single line."""
    return ERROR_PREFIX + "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def fail(message: object, code: int = EXIT_BLOCKED) -> int:
    """Print the error line on stderr and return `code`, for `return fail(...)`."""
    print(error_line(message), file=sys.stderr)
    return code
