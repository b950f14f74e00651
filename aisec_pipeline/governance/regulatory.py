"""Regulatory evidence per model: an obligations matrix, Annex IV-style documentation, an AI BOM.

The obligation -> evidence mapping is `regulations.yaml`. A row is automated when the pipeline
produced at least one of its evidence kinds (linked to the asset and run that produced it),
attested when a named committee decision on this exact digest covers it, missing otherwise;
every row also lists the kinds it lacks, so a partly covered obligation stays visible.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

from .. import __version__
from ..inventory import Model
from ..inventory.schema import ModelKind
from ..verdict import Verdict
from .committee import Register
from .decision import Decision
from .pack import BiasPoint
from .regulations import COMMITTEE_EVIDENCE, Regulations, Requirement

AUTOMATED, ATTESTED, MISSING = "automated", "attested", "missing"
CYCLONEDX_SPEC = "1.6"
TASKS = {ModelKind.CLASSIFIER: "classification", ModelKind.LLM: "text-generation"}


@dataclass(frozen=True)
class EvidenceLink:
    """Where an evidence kind was produced: the asset key and the run id (from the shell)."""

    kind: str
    asset_key: str
    run_id: str
    status: str  # the verdict status: passed / failed / unassessed
    evaluated_at: str = ""


@dataclass(frozen=True)
class Attestation:
    who: tuple[str, ...]
    when: date
    decision: str
    record: int  # seq in the committee register


@dataclass(frozen=True)
class MatrixRow:
    framework: str
    id: str
    title: str
    state: str
    links: tuple[EvidenceLink, ...] = ()
    attestation: Attestation | None = None
    lacking: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegulatoryMatrix:
    model: str
    version: str
    digest: str
    eu_ai_act_category: str
    annex_iii_area: str | None
    applies_from: date | None
    rows: tuple[MatrixRow, ...]
    notes: tuple[str, ...] = ()


def committee_attestation(register: Register | None, model: str, digest: str) -> Attestation | None:
    """The committee's latest decision on this exact digest; none from a broken register."""
    if register is None or not register.intact:
        return None
    from ..trust.keyring import COMMITTEE_MEMBER
    signed = [r for r in register.chain.records if r.model == model and r.artifact_sha256 == digest
              and register.signers(r.hash).with_role(COMMITTEE_MEMBER)]
    if not signed:
        return None  # typed names attest nothing
    record = signed[-1]
    who = tuple(p.name for p in register.signers(record.hash).with_role(COMMITTEE_MEMBER))
    return Attestation(who, record.decided_on, record.decision, record.seq)


def _row(framework: str, requirement: Requirement, links: Mapping[str, EvidenceLink],
         attestation: Attestation | None) -> MatrixRow:
    automated = [k for k in requirement.evidence if k != COMMITTEE_EVIDENCE]
    found = tuple(links[k] for k in automated if k in links)
    attestable = COMMITTEE_EVIDENCE in requirement.evidence
    attested = attestation if attestable else None
    lacking = tuple(k for k in automated if k not in links)
    if attestable and attested is None:
        lacking += (COMMITTEE_EVIDENCE,)
    state = AUTOMATED if found else ATTESTED if attested else MISSING
    return MatrixRow(framework, requirement.id, requirement.title, state, found, attested, lacking)


def regulatory_matrix(model: Model, regulations: Regulations, links: Mapping[str, EvidenceLink],
                      register: Register | None = None) -> RegulatoryMatrix:
    """`links`: evidence kind -> where it was produced (kinds the pipeline did not produce are
    simply absent). `register`: the verified committee register, for attestations."""
    entry = model.entry
    digest = entry.digest
    attestation = committee_attestation(register, entry.name, digest)
    eu, uk = regulations.eu_ai_act, regulations.uk_ai_cyber_security_code
    rows = [_row(eu.title, r, links, attestation) for r in eu.obligations]
    rows += [_row(uk.title, r, links, attestation) for r in uk.principles]
    notes = []
    if register is not None and not register.intact:
        notes.append(f"committee register tampered at {register.problem}: no attestation is "
                     "taken from it")
    category = entry.risk.eu_ai_act.category
    return RegulatoryMatrix(entry.name, entry.version, digest, category.value,
                            entry.risk.eu_ai_act.annex_iii_area, eu.applies_from.get(category),
                            tuple(rows), tuple(notes))


def matrix_to_dict(matrix: RegulatoryMatrix) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(matrix), default=str))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _evidence_text(row: MatrixRow) -> str:
    parts = [f"{link.kind}: {link.status} (asset `{link.asset_key}`, run `{link.run_id}`)" for link in row.links]
    if row.attestation:
        a = row.attestation
        parts.append(f"committee {a.decision} on {a.when} by {', '.join(a.who)} (record {a.record})")
    return "; ".join(parts) or "-"


def matrix_markdown(matrix: RegulatoryMatrix) -> str:
    applies = matrix.applies_from.isoformat() if matrix.applies_from else "no dated obligation"
    lines = [f"# Regulatory evidence: {matrix.model} {matrix.version}", "",
             f"- Artifact digest: `{matrix.digest}`",
             f"- EU AI Act category: {matrix.eu_ai_act_category}"
             + (f" (Annex III: {matrix.annex_iii_area})" if matrix.annex_iii_area else ""),
             f"- Obligations for this category apply from: {applies}",
             *(f"- Note: {note}" for note in matrix.notes)]
    framework = None
    for row in matrix.rows:
        if row.framework != framework:
            framework = row.framework
            lines += ["", f"## {framework}", "", "| Requirement | State | Evidence | Lacking |",
                      "|---|---|---|---|"]
        lines.append(f"| {_cell(row.id)}: {_cell(row.title)} | {row.state} | "
                     f"{_cell(_evidence_text(row))} | {_cell(', '.join(row.lacking) or '-')} |")
    return "\n".join(lines) + "\n"


def _field(card: Mapping[str, Any], key: str) -> str:
    value = card.get(key)
    if value in (None, "", [], {}):
        return f"_Not documented: add `{key}` to the model card._"
    if isinstance(value, list):
        return "\n".join(f"- {_item_text(v)}" for v in value)
    return _item_text(value)


def _item_text(value: Any) -> str:
    if isinstance(value, Mapping):
        if "id" in value and "description" in value:
            return f"`{value['id']}`: {value['description']}"
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _verdict_lines(verdicts: Mapping[str, Verdict | None]) -> list[str]:
    lines = []
    for kind, verdict in sorted(verdicts.items()):
        if verdict is None:
            lines.append(f"- {kind}: not assessed")
            continue
        lines.append(f"- {kind}: {verdict.status.value}")
        lines += [f"  - {reason}" for reason in verdict.reasons]
    return lines or ["_No evidence recorded._"]


def annex_iv_markdown(model: Model, card: Mapping[str, Any] | None, matrix: RegulatoryMatrix,
                      verdicts: Mapping[str, Verdict | None] | None = None,
                      decision: Decision | None = None) -> str:
    """Technical documentation in the order of EU AI Act Annex IV, from the card (its header
    fields as a mapping) and the evidence; gaps are written out, never left blank."""
    card, entry = card or {}, model.entry
    artifacts = [f"- `{a.path}` sha256 `{a.sha256}`" for a in entry.artifacts]
    decision_lines = ([f"Gate decision: **{decision.label}** (tier {decision.tier}, "
                       f"{decision.decided_at})", *(f"- {r}" for r in decision.reasons)]
                      if decision else ["_No gate decision recorded._"])
    sections = [
        f"# Technical documentation (EU AI Act Annex IV): {entry.name} {entry.version}",
        "## 1. General description",
        f"Intended purpose: {_field(card, 'summary')}", "Validated use cases:",
        _field(card, "validated_use_cases"), f"Provider contact (owner): {_field(card, 'owner')}",
        f"Version: {entry.version}; kind: {entry.kind.value}; description: {entry.description}",
        f"EU AI Act category: {matrix.eu_ai_act_category}"
        + (f", Annex III area: {matrix.annex_iii_area}" if matrix.annex_iii_area else ""),
        "Artifacts (model digest `" + matrix.digest + "`):", *artifacts,
        _card_review_line(decision),
        "## 2. Elements and development process",
        f"Provenance: {entry.provenance.source}; signature: "
        + ("declared" if entry.provenance.signature else "none declared"),
        f"Training data: {_field(card, 'training_data')}",
        f"Evaluation data: {_field(card, 'evaluation_data')}",
        "## 3. Monitoring, functioning and control",
        "Known failure modes and limitations:", _field(card, "failure_modes"),
        "Out-of-scope uses (refused by the gate):", _field(card, "out_of_scope_uses"),
        f"Demographic splits: {_field(card, 'demographic_splits')}",
        f"Incident response: {_field(card, 'incident_response')}",
        "## 4. Performance metrics and evidence", *_verdict_lines(verdicts or {}),
        "## 5. Risk management system (Art. 9)", *decision_lines,
        "## 6. Changes through the lifecycle",
        "Every committee decision is in the hash-chained register `committee/decisions.jsonl`, "
        "bound to the artifact digest above.",
        "## 7. Harmonised standards applied", "_None claimed._",
        "## 8. EU declaration of conformity", "_Not issued by this pipeline._",
        "## 9. Post-market monitoring (Art. 72)",
        "Production bias drift and incidents: see section 4 and the post-market rows of the "
        "regulatory evidence below.",
        matrix_markdown(matrix).replace("# Regulatory evidence", "## Annex: regulatory evidence", 1),
    ]
    return "\n\n".join(sections)


def _card_review_line(decision: Decision | None) -> str:
    if decision is None or not decision.card_digest:
        return "Model card review: _not recorded with a gate decision._"
    who = "; ".join(decision.reviewers) or "no standing review"
    return f"Model card reviewed: sha256 `{decision.card_digest}`, by {who}."


@dataclass(frozen=True)
class BomModel:
    """One model for the AI bill of materials."""

    model: Model
    tier: str
    card: Mapping[str, Any] | None = None
    decision: Decision | None = None
    metrics: Sequence[BiasPoint] = ()  # the latest measured per-segment metrics


def _texts(values: Iterable[Any]) -> list[str]:
    return [_item_text(v) for v in values]


def _model_card(item: BomModel, ref: str) -> dict[str, Any]:
    card, entry = item.card or {}, item.model.entry
    datasets = [{"type": "dataset", "name": name, "description": str(card[key])}
                for key, name in (("training_data", "training data"),
                                  ("evaluation_data", "evaluation data")) if card.get(key)]
    metrics = [{"type": m.metric, "value": f"{m.value:.4f}", "slice": m.segment,
                **({"confidenceInterval": {"lowerBound": f"{m.ci_low:.4f}",
                                           "upperBound": f"{m.ci_high:.4f}"}}
                   if m.ci_low is not None and m.ci_high is not None else {})}
               for m in item.metrics]
    considerations = {
        "useCases": _texts(card.get("validated_use_cases") or ()),
        "technicalLimitations": _texts(card.get("failure_modes") or ()),
        "ethicalConsiderations": [{"name": f"Out-of-scope use: {use}", "mitigationStrategy":
                                   "the deployment gate refuses use cases the card does not validate"}
                                  for use in _texts(card.get("out_of_scope_uses") or ())],
    }
    parameters = {"task": TASKS.get(entry.kind, entry.kind.value), "datasets": datasets}
    result = {"bom-ref": f"{ref}:card", "modelParameters": parameters,
              "considerations": {k: v for k, v in considerations.items() if v}}
    if metrics:
        result["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    owner = card.get("owner")
    if owner:
        result["properties"] = [{"name": "aisec:owner", "value": _item_text(owner)}]
    return result


def _bom_component(item: BomModel) -> dict[str, Any]:
    entry = item.model.entry
    ref, digest = f"{entry.name}@{entry.version}", entry.digest
    properties = {"aisec:tier": item.tier, "aisec:artifact_digest": digest,
                  "aisec:provenance": entry.provenance.source,
                  "aisec:eu_ai_act_category": entry.risk.eu_ai_act.category.value}
    if item.decision:
        properties["aisec:gate_decision"] = item.decision.label
        if item.decision.card_digest:
            properties["aisec:card_sha256"] = item.decision.card_digest
            properties["aisec:card_reviewed_by"] = "; ".join(item.decision.reviewers) or "not reviewed"
    component = {
        "type": "machine-learning-model", "bom-ref": ref, "name": entry.name,
        "version": entry.version, "description": entry.description,
        "components": [{"type": "file", "bom-ref": f"{ref}:{a.path}", "name": a.path,
                        "hashes": [{"alg": "SHA-256", "content": a.sha256}]}
                       for a in entry.artifacts],
        "modelCard": _model_card(item, ref),
        "properties": [{"name": k, "value": v} for k, v in properties.items()],
    }
    if len(entry.artifacts) == 1:  # the model is its one file: same hash
        component["hashes"] = [{"alg": "SHA-256", "content": digest}]
    return component


def ai_bom(items: Sequence[BomModel], now: datetime) -> dict[str, Any]:
    """An AI bill of materials in CycloneDX 1.6 JSON (a dict; `json.dumps` it)."""
    return {
        "bomFormat": "CycloneDX", "specVersion": CYCLONEDX_SPEC,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
        "metadata": {"timestamp": now.isoformat(), "tools": {"components": [
            {"type": "application", "name": "aisec", "version": __version__}]}},
        "components": [_bom_component(item) for item in items],
    }
