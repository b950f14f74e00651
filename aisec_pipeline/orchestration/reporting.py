"""Regulatory evidence, the AI bill of materials and the monthly committee pack, as assets.

    <model>/deployment_decision ─> <model>/regulatory_evidence   (matrix .md/.json, Annex IV)
    every model's deployment_decision ─> governance/ai_bom          (CycloneDX 1.6 JSON)
                                     └─> governance/committee_pack  (HTML, + summary in the UI)

These assets only read what the gate recorded in the instance (verdicts, decisions and their
history) and call the plain governance core; they never measure evidence themselves. Evidence
measured on another artifact digest is shown as unassessed, a model never gated as blocked.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import dagster as dg

from ..evidence_kinds import kinds_for
from ..governance.decision import EVALUATED_AT, Decision, Governance, read_governance
from ..governance.pack import BiasPoint, InjectionPoint, ModelSummary, build_pack, summarise
from ..governance.policy import Policy, load_policy
from ..inventory import Model, load_inventory
from ..verdict import Verdict
from .automation import PACK_JOB
from .evidence import DIGEST_KEY, VERDICT_KEY, for_current_digest
from .governance_assets import GOVERNANCE_KEYS
from .model_assets import asset_key, dagster_name
from .presentation import markdown_table
from .resources import GovernedInventory, RunFolders

REGULATORY_KIND = "regulatory_evidence"
AI_BOM_KEY = dg.AssetKey(["governance", "ai_bom"])
PACK_KEY = dg.AssetKey(["governance", "committee_pack"])
PACK_SCHEDULE = "monthly_committee_pack"
HISTORY_LIMIT = 120  # materializations per evidence asset read for the charts (years of monthly runs)
# Metadata keys holding the files each asset wrote (read back by `aisec report` / `aisec evidence`).
MATRIX_MD, MATRIX_JSON, ANNEX_IV = "matrix_markdown_file", "matrix_json_file", "annex_iv_file"
AI_BOM_FILE, PACK_FILE = "ai_bom_file", "committee_pack_file"
NEVER_GATED = "never gated: run `aisec gate` for this model"
NO_OWNER = "(no owner on the card)"
_NOT_METRICS = {"segment", "n", "status"}
_INTERVAL = re.compile(r"^\[\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*,\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*\]$")


# --- what the instance recorded ----------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """One evidence verdict as recorded: which asset, which run, when."""

    key: dg.AssetKey
    run_id: str
    timestamp: float
    verdict: Verdict


def recorded_verdicts(instance: dg.DagsterInstance, key: dg.AssetKey,
                      limit: int = HISTORY_LIMIT) -> list[Recorded]:
    """The asset's recorded verdicts, newest first; an unreadable one becomes unassessed."""
    records = instance.fetch_materializations(key, limit=limit).records
    found = []
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get(VERDICT_KEY) if materialization else None
        if value is None:
            continue
        try:
            verdict = Verdict.from_dict(value.value)
        except (AttributeError, KeyError, TypeError, ValueError):
            verdict = Verdict.unassessed(key.path[-1], f"recorded evidence for "
                                         f"{key.to_user_string()} is unreadable")
        found.append(Recorded(key, record.run_id, record.timestamp, verdict))
    return found


def latest_recorded(instance: dg.DagsterInstance, model: Model, kind: str) -> Recorded | None:
    found = recorded_verdicts(instance, asset_key(model.name, kind), limit=1)
    return found[0] if found else None


def gate_status(instance: dg.DagsterInstance, model: Model, tier: str) -> tuple[Decision, str | None]:
    """The model's standing gate decision and the run that made it. Never gated, or gated on
    another version or digest, is blocked: that decision says nothing about this artifact."""
    from .gate import latest_decision

    entry = model.entry

    def blocked(reason: str) -> Decision:
        return Decision(entry.name, entry.version, tier, False, (reason,),
                        decided_at="no decision recorded for this version")

    latest = latest_decision(instance, model)
    if latest is None:
        return blocked(NEVER_GATED), None
    decision, run_id = latest
    other_digest = decision.digest and decision.digest != entry.digest
    if decision.version != entry.version or other_digest:
        stale = (f"the last decision ({decision.label}, {decision.decided_at[:16]}) was for version "
                 f"{decision.version}, the registry now holds {entry.version} "
                 f"(digest {entry.digest[:12]}): gate it again")
        return blocked(stale), run_id
    return decision, run_id


def card_header(model: Model) -> dict[str, Any]:
    from ..cards.parse import parse_card

    return parse_card(model.path(model.entry.card)).header or {}


def validated_card(header: dict[str, Any]) -> dict[str, Any] | None:
    """The header, when it has the card schema's shape (so BOM fields have the expected types)."""
    from pydantic import ValidationError

    from ..cards.schema import CardHeader

    try:
        CardHeader.model_validate(header)
    except ValidationError:
        return None
    return header


def owner_text(header: dict[str, Any]) -> str:
    owner = header.get("owner")
    if not isinstance(owner, dict):
        return str(owner) if owner else NO_OWNER
    name, email = owner.get("name"), owner.get("email")
    return " ".join(str(p) for p in (name, f"<{email}>" if email else None) if p) or NO_OWNER


# --- figures over time -------------------------------------------------------------------------

def _day(figures: dict[str, Any], keys: Sequence[str], timestamp: float) -> date:
    """When the evidence was measured: the first readable ISO time among `keys`, else the
    materialization's own time."""
    for key in keys:
        try:
            return datetime.fromisoformat(str(figures[key])).date()
        except (KeyError, ValueError):
            continue
    return datetime.fromtimestamp(timestamp, timezone.utc).date()


def _rate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _interval(text: Any) -> tuple[float | None, float | None]:
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    return (float(match.group(1)), float(match.group(2))) if match else (None, None)


def bias_points(recorded: Recorded) -> Iterator[BiasPoint]:
    """Per segment and metric, from a bias verdict's `table` figure (fairness.segment_records)."""
    figures = recorded.verdict.figures
    when = _day(figures, ("measured_at", EVALUATED_AT), recorded.timestamp)
    table = figures.get("table")
    for row in table if isinstance(table, (list, tuple)) else ():
        segment = row.get("segment") if isinstance(row, dict) else None
        if not isinstance(segment, str):
            continue
        for metric, value in row.items():
            rate = _rate(value)
            if metric in _NOT_METRICS or metric.endswith("_ci") or rate is None:
                continue
            yield BiasPoint(when, segment, metric, rate, *_interval(row.get(f"{metric}_ci")))


OVER_REFUSAL_SERIES = "over-refusal: ordinary in-scope questions refused"


def injection_points(recorded: Recorded) -> Iterator[InjectionPoint]:
    """Per probe x detector, from an injection verdict's `rows` figure. A row with no scored
    answer was not measured: it is left out, never drawn as a 0% attack success rate."""
    figures = recorded.verdict.figures
    when = _day(figures, (EVALUATED_AT,), recorded.timestamp)
    rows = figures.get("rows")
    for row in rows if isinstance(rows, (list, tuple)) else ():
        if not isinstance(row, dict):
            continue
        rate, attempts = _rate(row.get("attack_success_rate")), _rate(row.get("attempts"))
        if rate is None or not attempts:
            continue
        yield InjectionPoint(when, f"{row.get('probe', '?')} / {row.get('detector', '?')}", rate,
                             _rate(row.get("ci_low")), _rate(row.get("ci_high")))
    refusal = figures.get("over_refusal")
    rate = _rate(refusal.get("rate")) if isinstance(refusal, dict) else None
    if rate is not None:  # the cost of safety, drawn and listed next to attack success
        yield InjectionPoint(when, OVER_REFUSAL_SERIES, rate, _rate(refusal.get("ci_low")),
                             _rate(refusal.get("ci_high")))


P = TypeVar("P")


def history(records: Iterable[Recorded], points: Callable[[Recorded], Iterable[P]],
            identity: Callable[[P], tuple]) -> list[P]:
    """Points from newest-first records, keeping the newest measurement per day and series."""
    newest: dict[tuple, P] = {}
    for recorded in records:
        for point in points(recorded):
            newest.setdefault(identity(point), point)
    return list(newest.values())


def bias_history(instance: dg.DagsterInstance, model: Model) -> list[BiasPoint]:
    return history(recorded_verdicts(instance, asset_key(model.name, "bias_report")), bias_points,
                   lambda p: (p.date, p.segment, p.metric))


def injection_history(instance: dg.DagsterInstance, model: Model) -> list[InjectionPoint]:
    return history(recorded_verdicts(instance, asset_key(model.name, "injection_report")),
                   injection_points, lambda p: (p.date, p.probe))


# --- regulatory evidence per model -------------------------------------------------------------

def evidence_links(model: Model, evidence: dict[str, Recorded], decision: Decision,
                   decision_run: str | None) -> dict:
    """Evidence kind -> where it was produced. Provenance is verified inside the artifact scan;
    incidents are judged by the decision. `run_log` is deliberately not linked: the gate's own
    run log is not the deployed system's Art. 12 logging."""
    from ..governance.regulatory import EvidenceLink

    def link(kind: str, recorded: Recorded) -> EvidenceLink:
        verdict = for_current_digest(recorded.verdict, model.entry.digest)
        return EvidenceLink(kind, recorded.key.to_user_string(), recorded.run_id,
                            verdict.status.value, str(verdict.figures.get(EVALUATED_AT, "")))

    links = {kind: link(kind, recorded) for kind, recorded in evidence.items()}
    scan = evidence.get("artifact_scan")
    if scan is not None and "provenance" in scan.verdict.figures:
        links["provenance"] = link("provenance", scan)
    if decision_run and "incidents" in decision.evidence:
        key = asset_key(model.name, "deployment_decision").to_user_string()
        links["incidents"] = EvidenceLink("incidents", key, decision_run,
                                          decision.evidence["incidents"], decision.decided_at)
    return links


def write_regulatory_evidence(instance: dg.DagsterInstance, model: Model, root: Path,
                              folder: Path) -> tuple[Any, dict[str, Path]]:
    """The matrix (Markdown, JSON) and Annex IV documentation for one model, written to `folder`."""
    from ..governance.committee import load_register
    from ..governance.regulations import load_regulations
    from ..governance.regulatory import annex_iv_markdown, matrix_markdown, matrix_to_dict, regulatory_matrix

    decision, decision_run = gate_status(instance, model, load_policy(root).tier_name(model.entry))
    evidence = {k.name: r for k in kinds_for(model)
                if (r := latest_recorded(instance, model, k.name)) is not None}
    links = evidence_links(model, evidence, decision, decision_run)
    matrix = regulatory_matrix(model, load_regulations(root), links, load_register(root, load_policy(root)))
    verdicts = {k.name: for_current_digest(evidence[k.name].verdict, model.entry.digest)
                if k.name in evidence else None for k in kinds_for(model)}
    files = {MATRIX_MD: folder / "regulatory-matrix.md", MATRIX_JSON: folder / "regulatory-matrix.json",
             ANNEX_IV: folder / "annex-iv.md"}
    files[MATRIX_MD].write_text(matrix_markdown(matrix), encoding="utf-8")
    files[MATRIX_JSON].write_text(json.dumps(matrix_to_dict(matrix), indent=2) + "\n", encoding="utf-8")
    files[ANNEX_IV].write_text(annex_iv_markdown(model, card_header(model), matrix, verdicts, decision),
                               encoding="utf-8")
    return matrix, files


def regulatory_asset(model: Model) -> dg.AssetsDefinition:
    name = dagster_name(model.name)

    @dg.asset(key=asset_key(model.name, REGULATORY_KIND), group_name=name, kinds={"aisec"},
              deps=[asset_key(model.name, "deployment_decision")], tags={"aisec/model": model.name},
              description=f"{model.name}: EU AI Act obligations and UK AI Cyber Security Code principles against the "
                          "evidence the gate recorded (automated, attested or missing), and the "
                          "Annex IV technical documentation.")
    def regulatory_evidence(context: dg.AssetExecutionContext, inventory: GovernedInventory,
                            run_folders: RunFolders) -> dg.MaterializeResult:
        from ..governance.regulatory import matrix_markdown

        current = inventory.model(model.folder)
        folder = run_folders.folder(context, current.name, REGULATORY_KIND)
        matrix, files = write_regulatory_evidence(context.instance, current, inventory.path, folder)
        states = [row.state for row in matrix.rows]
        return dg.MaterializeResult(metadata={
            "matrix": dg.MetadataValue.md(matrix_markdown(matrix)),
            **{state: states.count(state) for state in ("automated", "attested", "missing")},
            **{key: dg.MetadataValue.path(str(path)) for key, path in files.items()},
        })

    return regulatory_evidence


# --- the AI bill of materials and the committee pack -------------------------------------------

def bom_model(instance: dg.DagsterInstance, model: Model, policy: Policy):
    from ..governance.regulatory import BomModel

    tier = policy.tier_name(model.entry)
    decision, _ = gate_status(instance, model, tier)
    bias = latest_recorded(instance, model, "bias_report")
    current = bias is not None and bias.verdict.figures.get(DIGEST_KEY) == model.entry.digest
    return BomModel(model, tier, validated_card(card_header(model)), decision,
                    tuple(bias_points(bias)) if current else ())


def model_summary(instance: dg.DagsterInstance, model: Model, policy: Policy,
                  governance: Governance, now: datetime) -> ModelSummary:
    """`governance`: the governance files, read and verified once for the whole pack."""
    from .decision import card_under_review

    decision, _ = gate_status(instance, model, policy.tier_name(model.entry))
    return summarise(model, decision, owner=owner_text(card_header(model)), policy=policy,
                     governance=governance, now=now,
                     bias_history=bias_history(instance, model),
                     injection_history=injection_history(instance, model),
                     card=card_under_review(model))


def pack_markdown(summaries: Sequence[ModelSummary]) -> str:
    """The pack's summary for the Dagster UI: an overview, then a table and reasons per model."""
    overview = markdown_table([{"model": s.name, "version": s.version, "tier": s.tier,
                                "owner": s.owner, "gate": s.status, "reasons": len(s.reasons),
                                "open incidents": len(s.open_incidents),
                                "decisions due": len(s.decisions_due)} for s in summaries])
    sections = [overview if summaries else "No model in the inventory."]
    for s in summaries:
        table = markdown_table([{"tier": s.tier, "owner": s.owner, "status": s.status}])
        reasons = "\n".join(f"- {r}" for r in s.reasons) or "- no blocking reason"
        sections.append(f"### {s.name} {s.version}\n\n{table}\n\n{reasons}")
    return "\n\n".join(sections)


def bom_report(instance: dg.DagsterInstance, root: Path, now: datetime) -> tuple[str, dict]:
    """The AI-BOM JSON for every model in the inventory, and its UI metadata."""
    from ..governance.regulatory import ai_bom

    policy = load_policy(root)
    items = [bom_model(instance, m, policy) for m in load_inventory(root)]
    rows = [{"model": i.model.name, "version": i.model.entry.version, "tier": i.tier,
             "digest": i.model.entry.digest[:12], "gate": i.decision.label if i.decision else "-"}
            for i in items]
    metadata = {"components": len(items),
                "models": dg.MetadataValue.md(markdown_table(rows) if rows else "No model.")}
    return json.dumps(ai_bom(items, now), indent=2) + "\n", metadata


def pack_report(instance: dg.DagsterInstance, root: Path, now: datetime) -> tuple[str, dict]:
    """The committee pack HTML for every model in the inventory, and its summary for the UI."""
    policy = load_policy(root)
    governance = read_governance(root, policy, now)
    summaries = [model_summary(instance, m, policy, governance, now) for m in load_inventory(root)]
    metadata = {"models": len(summaries), "blocked": sum(s.status != "approved" for s in summaries),
                "summary": dg.MetadataValue.md(pack_markdown(summaries))}
    return build_pack(summaries, now), metadata


Report = Callable[[dg.DagsterInstance, Path, datetime], tuple[str, dict]]


def governance_report_asset(key: dg.AssetKey, file_key: str, filename: str, report: Report,
                            deps: list[dg.AssetKey], description: str) -> dg.AssetsDefinition:
    """A global asset that writes one report file (inventory re-read at run time)."""

    @dg.asset(key=key, group_name="governance", kinds={"aisec"}, deps=deps, description=description)
    def _report(context: dg.AssetExecutionContext, inventory: GovernedInventory,
                run_folders: RunFolders) -> dg.MaterializeResult:
        text, metadata = report(context.instance, inventory.path, datetime.now(timezone.utc))
        path = run_folders.folder(context, "governance", key.path[-1]) / filename
        path.write_text(text, encoding="utf-8")
        return dg.MaterializeResult(metadata={file_key: dg.MetadataValue.path(str(path)), **metadata})

    return _report


def report_assets(models: Sequence[Model]) -> list[dg.AssetsDefinition]:
    decisions = [asset_key(m.name, "deployment_decision") for m in models]
    governance = [k for k in GOVERNANCE_KEYS if k.path[-1] != "policy"]
    return [
        governance_report_asset(
            AI_BOM_KEY, AI_BOM_FILE, "ai-bom.cdx.json", bom_report, decisions,
            "AI bill of materials (CycloneDX 1.6 JSON): every model with artifact hashes, tier, "
            "gate decision and model-card data."),
        governance_report_asset(
            PACK_KEY, PACK_FILE, "committee-pack.html", pack_report, decisions + governance,
            "The monthly committee pack (one self-contained HTML file): every model's tier, owner, "
            "gate status and why, bias and injection over time, decisions due or expiring, open "
            "incidents."),
    ]


def reporting_keys(models: Sequence[Model]) -> list[dg.AssetKey]:
    return [asset_key(m.name, REGULATORY_KIND) for m in models] + [AI_BOM_KEY, PACK_KEY]


def reporting_definitions(models: Sequence[Model]) -> dg.Definitions:
    """The reporting assets, the `committee_pack` job over them and its monthly schedule.
    Resources (`inventory`, `run_folders`) come from the inventory definitions they merge into."""
    assets = [regulatory_asset(m) for m in models] + report_assets(models)
    job = dg.define_asset_job(PACK_JOB, selection=dg.AssetSelection.assets(*reporting_keys(models)),
                              description="Regulatory evidence per model, the AI-BOM and the "
                                          "committee pack, from what the gate recorded.")
    schedule = dg.ScheduleDefinition(name=PACK_SCHEDULE, job=job, cron_schedule="0 7 1 * *",
                                     default_status=dg.DefaultScheduleStatus.RUNNING)
    return dg.Definitions(assets=assets, jobs=[job], schedules=[schedule])


# --- running them from the command line --------------------------------------------------------

class ReportFailed(Exception):
    """The reporting run failed; the message says where and why, on one line."""


def materialize_reports(root: Path, models: Sequence[Model], keys: Sequence[dg.AssetKey],
                        instance: dg.DagsterInstance) -> dict[dg.AssetKey, dict[str, Path]]:
    """Materialize `keys` in one run; the files each one wrote, by metadata key."""
    from .component import inventory_definitions

    job = inventory_definitions(root).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=list(keys), raise_on_error=False,
        tags={"aisec/trigger": "cli", "aisec/report": "committee_pack"},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    if not result.success:
        raise ReportFailed(_failure(result))
    return {key: _written_files(instance, key, result.run_id) for key in keys}


def _failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:  # Dagster wraps the asset's own exception
                error = error.cause
            lines = "; ".join(line.strip() for line in error.message.strip().splitlines())
            message = lines.split(": ", 1)[-1]  # drop the "package.module.Class: " prefix
            return f"{event.step_key}: {error.cls_name}: {message} (run {result.run_id[:8]})"
    return f"the reporting run {result.run_id[:8]} did not succeed; see it in the Dagster UI"


def _written_files(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> dict[str, Path]:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.run_id != run_id or event.asset_materialization is None:
        raise ReportFailed(f"{key.to_user_string()} was not materialized by run {run_id[:8]}")
    return {name: Path(value.value) for name, value in event.asset_materialization.metadata.items()
            if isinstance(value, dg.PathMetadataValue)}
