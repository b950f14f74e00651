"""The judge stays apart from what it judges.

- Which code judged: the package version and, when known, the git commit of its code (pip's
  record of a VCS install, else `git` in the code's own folder), stated in every gate's output.
- The gate refuses to judge an inventory whose repository holds the gate's own code: a pull
  request could change the judge along with what it judges. A development run says so itself.
- The Dagster instance never comes from the checkout: by default it lives in the user's state
  folder; one tracked by git, or inside the inventory being judged, is refused.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "aisec-pipeline"
PACKAGE_DIR = Path(__file__).resolve().parent
GIT_TIMEOUT_SECONDS = 10


class JudgeRefused(Exception):
    """The gate would be steered by what it judges: it does not judge (exit 2)."""


@dataclass(frozen=True)
class CodeVersion:
    version: str
    commit: str | None  # git commit of the code, when known
    modified: bool | None  # the code differs from that commit (None: unknown)
    location: str  # the package folder that judged

    def label(self) -> str:
        commit = f", git {self.commit[:12]}{' (modified)' if self.modified else ''}" if self.commit else ""
        return f"{DISTRIBUTION} {self.version}{commit}, code in {self.location}"

    def to_dict(self) -> dict:
        return asdict(self)


@functools.cache
def code_version() -> CodeVersion:
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    commit, modified = installed_commit()
    if commit is None:
        commit, modified = git_commit(PACKAGE_DIR)
    return CodeVersion(version, commit, modified, str(PACKAGE_DIR))


def installed_commit() -> tuple[str | None, bool | None]:
    """The commit pip installed from (`pip install git+URL@REF` records it), if any."""
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        commit = json.loads(text or "{}").get("vcs_info", {}).get("commit_id")
    except (metadata.PackageNotFoundError, ValueError, AttributeError):
        return None, None
    return (commit, False) if isinstance(commit, str) else (None, None)


def git(folder: Path, *args: str) -> subprocess.CompletedProcess | None:
    """`git` in `folder` (any owner: it only reads), or None when git is not available."""
    try:
        return subprocess.run(["git", "-c", "safe.directory=*", "-C", str(folder), *args],
                              capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_commit(folder: Path) -> tuple[str | None, bool | None]:
    head = git(folder, "rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return None, None
    status = git(folder, "status", "--porcelain", "--", ".")
    modified = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return head.stdout.strip(), modified


def repository_of(path: Path) -> Path:
    """The git work tree holding `path` (the nearest folder with `.git`), else `path` itself."""
    path = path.resolve()
    return next((p for p in (path, *path.parents) if (p / ".git").exists()), path)


def is_within(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def self_judging(inventory: Path) -> str | None:
    """Why this gate may not judge `inventory`, if its own code sits in the repository (or the
    inventory) being judged."""
    repository = repository_of(inventory)
    if not is_within(PACKAGE_DIR, repository):
        return None
    return (f"the gate's own code ({PACKAGE_DIR}) sits inside {repository}, the repository being "
            "judged: a change to it could change the judge. Run the gate from the protected branch "
            "or a release, outside the checkout it judges (README, 'In CI'), or pass --dev-run "
            "for a development run")


def default_instance_home() -> Path:
    """The user's state folder, never a checkout: $XDG_STATE_HOME/aisec/dagster_home
    (default ~/.local/state/aisec/dagster_home)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "aisec" / "dagster_home"


def instance_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or default_instance_home())


def instance_problem(home: Path, inventory: Path | None = None) -> str | None:
    """Why the instance at `home` may not hold this gate's evidence, if it may not."""
    if inventory is not None and is_within(home, inventory):
        return (f"the Dagster instance {home} (DAGSTER_HOME) lies inside the inventory being "
                f"judged ({inventory}): evidence would come from what is judged")
    if not home.is_dir():
        return None
    tracked = git(home, "ls-files", "-z", "--", ".")
    if tracked is not None and tracked.returncode == 0:
        if not tracked.stdout:
            return None
        return (f"the Dagster instance {home} (DAGSTER_HOME) holds files tracked by git "
                f"({tracked.stdout.split(chr(0))[0]}, ...): an instance committed to a repository "
                "can carry forged evidence; use one outside any checkout "
                f"(default {default_instance_home()})")
    if (repository_of(home) / ".git").exists():
        return (f"cannot ask git whether the Dagster instance {home} is tracked by the repository "
                f"{repository_of(home)}: use an instance outside any checkout")
    return None
