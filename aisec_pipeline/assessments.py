"""One function per evidence kind: gather a registered model's inputs, call the core, return a Verdict.

Plain Python, no Dagster: the orchestration shell calls these from assets, and tests call them
directly. Heavy libraries are imported inside each function so that loading definitions stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .governance.policy import Policy
from .inventory import Model
from .kind_names import ARTIFACT_SCAN, BIAS_REPORT, EVALUATION_DATA, PRODUCTION_BIAS
from .verdict import Status, Verdict, combine


def assess_artifacts(model: Model, policy: Policy, observed: Mapping[str, str] | None = None) -> Verdict:
    """Content scan of every artifact, then checksum, source allowlist and signature.

    Each scan reports the sha256 of exactly the bytes it analysed; `observed` (artifact path ->
    sha256) is what the gate hashed for this run: a scan of other bytes means the file changed
    while it was being gated, and the scan speaks for neither."""
    from .provenance import check_provenance
    from .scanning import scan_file, scan_verdict

    reports, actual = [], {}
    for artifact in model.entry.artifacts:
        path = model.path(artifact.path)
        if path.is_file():  # a missing artifact is named by check_provenance
            report = scan_file(path, trusted_types=artifact.trusted_types)
            reports.append(report)
            actual[artifact.path] = report.sha256
    parts = [scan_verdict(reports)] if reports else []
    parts.append(check_provenance(model, policy, policy.tier_for(model.entry), actual))
    changed = changed_while_gated(actual, observed or {})
    if changed:
        parts.append(Verdict("one_read", Status.UNASSESSED, tuple(changed), {}))
    verdict = combine(ARTIFACT_SCAN, parts)
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, SCANNED_KEY: actual}, verdict.attachments)


SCANNED_KEY = "scanned_sha256s"  # artifact path -> sha256 of the bytes the scan analysed


def changed_while_gated(scanned: Mapping[str, str], observed: Mapping[str, str]) -> list[str]:
    """A reason per artifact whose scanned bytes are not the bytes the gate hashed."""
    return [f"artifact changed while it was being gated: {path} was hashed by the gate as "
            f"{observed[path][:12]} but the scan read {digest[:12] or 'bytes that changed under it'}; "
            "gate it again once nothing writes the file"
            for path, digest in scanned.items() if path in observed and observed[path] != digest]


def assess_card(model: Model, bias: Verdict | None = None, out_dir: Path | None = None,
                policy=None, remembered=None) -> Verdict:
    """The card validated and bound to the registry digests, and (given the policy) its signed
    review judged as the decision judges it, so this check never passes a card the decision
    blocks on. When valid, published to `out_dir` with `last_evaluated` set now and the
    demographic splits filled from the bias report."""
    from datetime import datetime, timezone

    from .cards.render import render_card
    from .cards.validate import card_verdict, validate_card

    validation = validate_card(model.path(model.entry.card), model.entry)
    digests = {a.path: a.sha256 for a in model.entry.artifacts}
    content = card_verdict(validation, digests)
    if not content.passed:
        return content
    verdict = (with_review(content, model, policy, remembered, datetime.now(timezone.utc))
               if policy is not None else content)
    if out_dir is None:
        return verdict
    splits = bias.figures.get("splits_markdown") if bias is not None else None
    reviewed_by = card_reviews(model, validation.sha256)
    published = out_dir / "card.md"
    published.write_text(render_card(validation.card, measured_splits_markdown=splits,
                                     last_evaluated=datetime.now(timezone.utc),
                                     artifact_sha256s=digests, reviewed_by=reviewed_by),
                         encoding="utf-8")
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, "reviewed_by": reviewed_by},
                   {**verdict.attachments, "published card": str(published)})


def with_review(verdict: Verdict, model: Model, policy, remembered, now) -> Verdict:
    """The valid card's verdict with its signed review judged by the decision's own rule
    (`governance.decision.judge_card_review`): failed with the review's reasons when it does not
    stand, else stamped with the time it lapses (VALID_UNTIL) so it is never reused past it."""
    from datetime import datetime, time, timezone

    from .cards.review import CardUnderReview, load_reviews
    from .governance.decision import VALID_UNTIL, judge_card_review

    card = CardUnderReview(verdict.figures["card_sha256"], verdict.figures.get("owner"))
    finding = judge_card_review(policy, model.entry, load_reviews(model.folder.parents[1], policy.people),
                                card, now, remembered.card_reviews if remembered else ())
    figures = {**verdict.figures, "signed_reviews": list(finding.signers)}
    if finding.reasons:
        reasons = tuple(r.removeprefix("model_card: ") for r in finding.reasons)
        return Verdict(verdict.kind, Status.FAILED, reasons, figures)
    if finding.valid_until is not None:
        figures[VALID_UNTIL] = datetime.combine(finding.valid_until, time(), timezone.utc).isoformat()
    return Verdict(verdict.kind, verdict.status, verdict.reasons, figures)


def card_reviews(model: Model, card_sha256: str | None) -> list[dict[str, str]]:
    """The approving reviews recorded for exactly these card bytes and this artifact (shown on
    the published card; whether they suffice is the decision's to judge)."""
    from .cards.review import APPROVE, load_reviews
    from .governance.policy import load_policy

    root = model.folder.parents[1]
    log = load_reviews(root, load_policy(root).people)
    return [{"reviewer": ", ".join(log.signers(r.hash).names) or f"{r.reviewer} (unsigned)",
             "on": r.reviewed_on.isoformat(), "card_sha256": r.card_sha256}
            for r in log.chain.records
            if log.intact and r.model == model.name and r.card_sha256 == card_sha256
            and r.artifact_sha256 == model.entry.digest and r.decision == APPROVE]


def assess_evaluation_data(model: Model) -> Verdict:
    from .fairness import load_evaluation_data

    evaluation = model.entry.evaluation
    if evaluation is None:
        return Verdict.unassessed(EVALUATION_DATA, "the registry entry declares no evaluation data")
    return load_evaluation_data(model.path(evaluation.data), evaluation)[1]


BASELINE_FILE = "baseline_counts.parquet"


def assess_bias(model: Model, policy: Policy, out_dir: Path, scan: Verdict | None = None) -> Verdict:
    """Per segment and intersection; the measured counts are kept as the production baseline.
    The predictions judged must be bound to the artifact (`binding/`): re-scored by it after
    `scan` (its artifact_scan on this digest) passed, or by a signed producer statement."""
    from .binding.bind import bind_predictions
    from .fairness import bias_verdict, card_split_keys, measure_frame, read_table, save_counts
    from .fairness.tables import TableError
    from .provenance.digest import hashed_copy

    evaluation = model.entry.evaluation
    if evaluation is None:
        return Verdict.unassessed(BIAS_REPORT, "the registry entry declares no evaluation data")
    bias_policy = policy.tier_for(model.entry).bias
    card_keys = card_split_keys(model.path(model.entry.card), evaluation)  # required, like the entry's
    with hashed_copy(model.path(evaluation.data)) as (copy, evaluation_sha256):
        try:
            frame = read_table(copy)  # the rows judged are the bytes hashed (and bound), read once
        except TableError as exc:  # name the inventory's file, not the private copy
            raise TableError(str(exc).replace(str(copy), str(model.path(evaluation.data)))) from None
    report = measure_frame(frame, evaluation, bias_policy, card_keys)
    save_counts(report.counts, out_dir / BASELINE_FILE)
    measured = with_inline_figures(bias_verdict(report, bias_policy),
                                   {"baseline counts": str(out_dir / BASELINE_FILE)})
    return with_binding(measured, bind_predictions(model, policy.people, frame, evaluation_sha256, scan))


def with_binding(bias: Verdict, binding: Verdict) -> Verdict:
    """The bias verdict, no better than its binding; the report says which binding held. An
    unbound report is never "insufficient" (which a committee may accept): it is unbound."""
    from .verdict import worst_status

    figures = {**bias.figures, "prediction_binding": binding.figures,
               "predictions_bound_by": binding.figures.get("summary") or "not bound: " + "; ".join(binding.reasons)}
    if not binding.passed:
        figures["outcome"] = "unbound"
    return Verdict(bias.kind, worst_status(bias.status, binding.status), bias.reasons + binding.reasons,
                   figures, bias.attachments)


def with_inline_figures(verdict: Verdict, files: dict[str, str], **extra) -> Verdict:
    """The fairness verdict's chart and splits table as figures (shown inline), files as attachments."""
    inline = {"chart_png_base64": verdict.attachments.get("chart_png_base64"),
              "splits_markdown": verdict.attachments.get("performance_splits_md")}
    return Verdict(verdict.kind, verdict.status, verdict.reasons,
                   {**verdict.figures, **inline, **extra}, files)


def assess_production_bias(model: Model, policy: Policy, bias: Verdict | None, state_dir: Path) -> Verdict:
    """Recent production predictions against the measured baseline; alerts are deduplicated."""
    from .fairness import load_counts, monitor_production, read_production_log

    evaluation, monitoring = model.entry.evaluation, model.entry.monitoring
    if evaluation is None or monitoring is None:
        return Verdict.unassessed(PRODUCTION_BIAS, "the registry entry declares no production monitoring")
    baseline = Path(bias.attachments.get("baseline counts", "")) if bias else None
    if baseline is None or not baseline.is_file():
        return Verdict.unassessed(PRODUCTION_BIAS, "no baseline: materialize bias_report first")
    log = read_production_log(monitoring, model.folder, [evaluation.label, evaluation.prediction,
                                                         *evaluation.segments])
    result = monitor_production(model.name, log, load_counts(baseline), evaluation, monitoring,
                                policy.tier_for(model.entry).bias, state_dir / "history.parquet",
                                alert_state=state_dir / "alert_state.json")
    alerts = result.alerts
    return with_inline_figures(result.verdict, {}, alerts_sent=alerts.sent if alerts else [],
                               alerts_suppressed=alerts.suppressed if alerts else [],
                               alerts_failed=alerts.failed if alerts else [])


def assess_injection(model: Model, policy: Policy, base_url: str | None, workdir: Path,
                     on_progress=None) -> Verdict:
    """The tier's battery against the deployed endpoint (or `base_url` where it is served locally)."""
    from .redteam.evidence import injection_verdict
    from .redteam.runner import run_battery
    from .redteam.serve import SLOTS
    from .redteam.target import target_from_model

    injection_policy = policy.tier_for(model.entry).injection
    # A model served here answers SLOTS requests at once: more would wait in its queue against
    # the request timeout. A deployed endpoint gets the policy's concurrency.
    result = run_battery(target_from_model(model, base_url), injection_policy, workdir,
                         on_progress=on_progress, parallel_attempts=SLOTS if base_url else None)
    return injection_verdict(result, injection_policy)
