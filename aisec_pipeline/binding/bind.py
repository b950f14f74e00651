"""Which binding ties the evaluation file's predictions to the registered artifact, and does it hold."""

from __future__ import annotations

import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..inventory import Model
from ..verdict import Status, Verdict
from .rescore import ONNX_FLAG, TOLERANCE, RescoreError, rescore
from .statement import SIGNER_ROLE, check_statement

KIND = "prediction_binding"
RESCORED, SIGNED = "re-scored by the gate", "signed producer statement"


def runnable_artifact(model: Model) -> tuple[Path, str] | None:
    """The one artifact the gate can run without executing arbitrary code, with its format (a
    skops file, told by its zip directory, or an ONNX graph, told by content; never loaded here)."""
    if len(model.entry.artifacts) != 1:
        return None
    path = model.path(model.entry.artifacts[0].path)
    try:
        with zipfile.ZipFile(path) as archive:
            return (path, "skops") if "schema.json" in archive.namelist() else None
    except zipfile.BadZipFile:
        pass
    except OSError:
        return None
    from ..scanning.sniff import SNIFF_BYTES, sniff

    try:
        with open(path, "rb") as stream:
            return (path, "onnx") if sniff(stream.read(SNIFF_BYTES)) == "onnx" else None
    except OSError:
        return None


@contextmanager
def verified_copy(path: Path, sha256: str) -> Iterator[Path]:
    """A private copy of the artifact taken in one read, used only if its bytes are the ones the
    registry names (and the scan passed): the worker never reads the shared file."""
    from ..provenance.digest import hashed_copy

    with hashed_copy(path, "model" + path.suffix) as (copy, digest):
        if digest != sha256:
            raise RescoreError(f"artifact changed while it was being gated: {path.name} now has "
                               f"sha256 {digest[:12]}, the registry and its scan say {sha256[:12]}")
        yield copy


def bind_predictions(model: Model, keyring, frame, evaluation_sha256: str,
                     scan: Verdict | None) -> Verdict:
    """PASSED when the re-scored artifact agrees with the prediction column, or (for artifacts
    it cannot run, or a deployed tool's predictions) a keyring model owner's statement binds the
    file's sha256 to the artifact digest; FAILED or UNASSESSED otherwise, saying why."""
    evaluation = model.entry.evaluation
    assert evaluation is not None
    runnable = runnable_artifact(model)
    if evaluation.predictions_from == "artifact" and runnable is not None:
        return _rescored(model, *runnable, frame, scan)
    why = ("the registry declares the prediction column a deployed tool's output"
           if evaluation.predictions_from == "deployed_tool"
           else "the artifact cannot be run without executing arbitrary code (only skops and ONNX are re-scored)")
    checked = check_statement(model, keyring, evaluation_sha256)
    figures = {"bound_by": SIGNED if not checked.problems else None, "why_not_rescored": why,
               "statement_signers": list(checked.signers), "evaluation_sha256": evaluation_sha256}
    if checked.problems:
        return Verdict(KIND, Status.FAILED, checked.problems, figures)
    summary = (f"predictions bound by a {SIGNED}: {', '.join(checked.signers)} ({SIGNER_ROLE}) "
               f"signed that evaluation file {evaluation_sha256[:12]} holds the predictions of "
               f"artifact digest {model.entry.digest[:12]} ({why})")
    return Verdict(KIND, Status.PASSED, (), {**figures, "summary": summary})


def _rescored(model: Model, artifact: Path, fmt: str, frame, scan: Verdict | None) -> Verdict:
    evaluation = model.entry.evaluation
    assert evaluation is not None
    if scan is None or not scan.passed:
        return Verdict.unassessed(KIND, "the artifact is re-scored only after its artifact_scan "
                                  "passed on this digest, and it has not")
    entry = model.entry.artifacts[0]
    try:
        with verified_copy(artifact, entry.sha256) as copy:
            trusted = [ONNX_FLAG] if fmt == "onnx" else list(entry.trusted_types)
            agreement = rescore(copy, trusted, frame, evaluation.prediction, list(evaluation.segments))
    except RescoreError as exc:
        return Verdict.unassessed(KIND, str(exc))
    figures = {"bound_by": RESCORED if agreement.agrees else None, "rows_rescored": agreement.rows,
               "rows": agreement.total, "rows_disagreeing": agreement.disagree,
               "disagreement_rate": agreement.rate, "tolerance": TOLERANCE,
               "sample_seed": agreement.seed, "isolation": agreement.isolation,
               "segments_over_tolerance": agreement.worst_segments}
    sampled = (f"a random sample of {agreement.rows:,} of {agreement.total:,} rows (seed "
               f"{agreement.seed})" if agreement.seed is not None else f"all {agreement.rows:,} rows")
    if agreement.agrees:
        summary = (f"predictions bound by re-scoring: the artifact predicted {sampled}; "
                   f"{agreement.disagree} disagree ({agreement.rate:.2%}, tolerance {TOLERANCE:.1%})")
        return Verdict(KIND, Status.PASSED, (), {**figures, "summary": summary})
    worst = "; ".join(f"{s['segment']}: {s['disagree']} of {s['rows']}"
                      for s in agreement.worst_segments[:5])
    reason = (f"the evaluation file's {evaluation.prediction!r} column is not what the artifact "
              f"predicts: {agreement.disagree:,} of {sampled} disagree ({agreement.rate:.2%}; "
              f"tolerance {TOLERANCE:.1%} overall and per segment value)"
              + (f"; most in {worst}" if worst else ""))
    return Verdict(KIND, Status.FAILED, (reason,), figures)
