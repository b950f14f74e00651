"""The monthly committee pack: one self-contained HTML file a committee reads in a browser.

Plain inputs (`ModelSummary` per model), inline SVG charts, inline CSS, no script, no network:
a Content-Security-Policy forbids every fetch. All text is HTML-escaped (model names, reasons
and incident descriptions are data, never markup).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Iterable, Sequence

from ..inventory import Model
from ..cards.review import CardUnderReview
from .committee import DecisionDue, committee_finding, signed_by
from .decision import Decision, GateFacts, Governance
from .incidents import IncidentLog, incident_summary
from .policy import Policy
from .regulations import IncidentReporting

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22")
WIDTH, HEIGHT, MARGIN, LEGEND_ROW = 640, 240, 44, 16


@dataclass(frozen=True)
class BiasPoint:
    date: date
    segment: str
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class InjectionPoint:
    date: date
    probe: str  # a probe / detector, or the over-refusal series
    asr: float  # attack success rate (over-refusal: share of ordinary questions refused), 0..1
    ci_low: float | None = None  # its 95% interval
    ci_high: float | None = None


@dataclass(frozen=True)
class IncidentLine:
    id: str
    severity: str
    what: str
    aware_at: datetime
    report_due: datetime | None = None  # Art. 73, serious incidents only
    report_overdue: bool = False


@dataclass(frozen=True)
class ModelSummary:
    name: str
    version: str
    tier: str
    owner: str
    status: str  # "approved" or "blocked"
    reasons: tuple[str, ...] = ()
    bias_history: tuple[BiasPoint, ...] = ()
    injection_history: tuple[InjectionPoint, ...] = ()
    decisions_due: tuple[DecisionDue, ...] = ()
    open_incidents: tuple[IncidentLine, ...] = ()
    conditions: tuple[str, ...] = ()
    injection_limit: float | None = None  # the tier's max attack success rate, drawn as a line
    card_review: str = "not checked"  # reviewed by ... / never reviewed / changed since / expired
    committee: str = "not checked"  # the standing committee record and who verifiably signed it


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[date, float, float | None, float | None], ...]  # x, y, low, high


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def _axes(first: date, last: date, bottom: float, right: float) -> list[str]:
    parts = [f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>',
             f'<line x1="{MARGIN}" y1="{MARGIN / 2}" x2="{MARGIN}" y2="{bottom}" stroke="#444"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = _scale(tick, 0, 1, bottom, MARGIN / 2)
        parts.append(f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{MARGIN - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    parts.append(f'<text x="{MARGIN}" y="{bottom + 16}">{first.isoformat()}</text>')
    if last != first:
        parts.append(f'<text x="{right}" y="{bottom + 16}" text-anchor="end">{last.isoformat()}</text>')
    return parts


def _series_marks(series: Series, colour: str, x_of, y_of) -> list[str]:
    parts = []
    for x_date, y, low, high in series.points:
        x = x_of(x_date)
        if low is not None and high is not None:
            parts.append(f'<line x1="{x:.1f}" y1="{y_of(low):.1f}" x2="{x:.1f}" y2="{y_of(high):.1f}" '
                         f'stroke="{colour}" stroke-opacity="0.5" stroke-width="3"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y_of(y):.1f}" r="3" fill="{colour}"/>')
    if len(series.points) > 1:
        path = " ".join(f"{x_of(d):.1f},{y_of(y):.1f}" for d, y, _, _ in series.points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    return parts


def line_chart(title: str, series: Sequence[Series], threshold: float | None = None) -> str:
    """An SVG chart of rates (0..1) over dates; vertical bars show confidence intervals."""
    dates = sorted({d for s in series for d, *_ in s.points})
    legend_height = LEGEND_ROW * len(series)
    bottom, right = HEIGHT - MARGIN, WIDTH - 12
    first, last = dates[0], dates[-1]

    def x_of(value: date) -> float:
        return _scale(value.toordinal(), first.toordinal(), last.toordinal(), MARGIN + 10, right - 10)

    def y_of(value: float) -> float:
        return _scale(min(max(value, 0.0), 1.0), 0, 1, bottom, MARGIN / 2)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" '
             f'height="{HEIGHT + legend_height}" viewBox="0 0 {WIDTH} {HEIGHT + legend_height}">',
             f"<title>{escape(title)}</title>", *_axes(first, last, bottom, right)]
    if threshold is not None:
        y = y_of(threshold)
        parts.append(f'<line x1="{MARGIN}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#000" '
                     f'stroke-dasharray="4 3"/><text x="{right}" y="{y - 3:.1f}" '
                     f'text-anchor="end">limit {threshold:.2f}</text>')
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts += _series_marks(item, colour, x_of, y_of)
        legend_y = HEIGHT + index * LEGEND_ROW
        parts.append(f'<rect x="{MARGIN}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{MARGIN + 14}" y="{legend_y}">{escape(item.label)}</text>')
    return "".join(parts) + "</svg>"


def bias_charts(points: Iterable[BiasPoint]) -> list[tuple[str, str]]:
    """(title, svg): one chart per metric, one line per segment."""
    by_metric: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for p in sorted(points, key=lambda p: p.date):
        by_metric[p.metric][p.segment].append((p.date, p.value, p.ci_low, p.ci_high))
    charts = []
    for metric, segments in sorted(by_metric.items()):
        title = f"Bias: {metric} by segment over time (bars: 95% interval)"
        charts.append((title, line_chart(title, [Series(seg, tuple(pts))
                                                 for seg, pts in sorted(segments.items())])))
    return charts


def injection_chart(points: Iterable[InjectionPoint],
                    limit: float | None = None) -> list[tuple[str, str]]:
    by_probe: dict[str, list] = defaultdict(list)
    for p in sorted(points, key=lambda p: p.date):
        by_probe[p.probe].append((p.date, p.asr, p.ci_low, p.ci_high))
    if not by_probe:
        return []
    title = "Prompt injection: attack success rate by probe over time (bars: 95% interval)"
    series = [Series(probe, tuple(pts)) for probe, pts in sorted(by_probe.items())]
    return [(title, line_chart(title, series, limit))]


def latest_injection_rows(points: Iterable[InjectionPoint]) -> list[tuple[str, str, str]]:
    """Each series' newest measurement as (series, rate with its 95% interval, date): attack
    success per probe and, next to it, over-refusal (the cost of that safety)."""
    newest: dict[str, InjectionPoint] = {}
    for point in sorted(points, key=lambda p: p.date):
        newest[point.probe] = point
    return [(probe, _rate_text(p), p.date.isoformat()) for probe, p in sorted(newest.items())]


def _rate_text(point: InjectionPoint) -> str:
    if point.ci_low is None or point.ci_high is None:
        return f"{point.asr:.0%}"
    return f"{point.asr:.0%} (95% CI {point.ci_low:.0%}-{point.ci_high:.0%})"


def _items(texts: Iterable[str], empty: str) -> str:
    rows = "".join(f"<li>{escape(t)}</li>" for t in texts)
    return f"<ul>{rows}</ul>" if rows else f'<p class="none">{escape(empty)}</p>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="none">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _due_rows(models: Sequence[ModelSummary]) -> list[tuple[str, str, str]]:
    due = [d for m in models for d in m.decisions_due]
    due.sort(key=lambda d: (d.due_on or date.min, d.model))
    return [(d.model, d.what, d.due_on.isoformat() if d.due_on else "now") for d in due]


def _incident_rows(model: ModelSummary) -> list[tuple[str, ...]]:
    return [(i.id, i.severity, i.aware_at.isoformat(),
             (i.report_due.isoformat() + (" OVERDUE" if i.report_overdue else ""))
             if i.report_due else "-", i.what) for i in model.open_incidents]


def _model_section(model: ModelSummary) -> str:
    charts = (bias_charts(model.bias_history)
              + injection_chart(model.injection_history, model.injection_limit))
    return (f'<section class="model" id="model-{escape(model.name)}">'
            f'<h2>{escape(model.name)} {escape(model.version)} '
            f'<span class="status {escape(model.status)}">{escape(model.status)}</span></h2>'
            f"<p>Tier <b>{escape(model.tier)}</b> &middot; owner {escape(model.owner)}</p>"
            f"<h3>Why</h3>{_items(model.reasons, 'No blocking reason.')}"
            f"<h3>Committee conditions</h3>{_items(model.conditions, 'None.')}"
            f"<h3>Open incidents</h3>"
            + _table(("id", "severity", "aware since", "Art. 73 report due", "what happened"),
                     _incident_rows(model), "No open incident.")
            + _latest_injection(model)
            + "<h3>Evidence over time</h3>"
            + ("".join(f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>"
                       for title, svg in charts)
               or '<p class="none">No bias or injection measurements recorded yet.</p>')
            + "</section>")


def _latest_injection(model: ModelSummary) -> str:
    rows = latest_injection_rows(model.injection_history)
    if not rows:
        return ""
    return ("<h3>Latest injection battery: attack success and over-refusal</h3>"
            + _table(("probe / detector, or over-refusal", "rate (95% interval)", "measured"),
                     rows, ""))


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
.status{font-size:.7em;padding:2px 8px;border-radius:4px;color:#fff}.approved{background:#2a7a2a}.blocked{background:#b22}
.none{color:#777}section.model{border-top:2px solid #ddd;margin-top:2em}svg.chart text{font-size:11px}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def build_pack(models: Sequence[ModelSummary], now: datetime) -> str:
    """The committee pack as one HTML document."""
    overview = _table(("model", "version", "tier", "owner", "gate", "reasons"),
                      [(m.name, m.version, m.tier, m.owner, m.status, str(len(m.reasons)))
                       for m in models], "No model in the inventory.")
    due = _table(("model", "decision due", "by"), _due_rows(models), "Nothing due.")
    reviews = _table(("model", "version", "card review", "committee"),
                     [(m.name, m.version, m.card_review, m.committee) for m in models], "No model.")
    sections = "".join(_model_section(m) for m in models)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>AI governance committee pack {now.date().isoformat()}</title>"
            f"<style>{STYLE}</style></head><body>"
            f"<h1>AI governance committee pack</h1><p>Generated {escape(now.isoformat())}</p>"
            f"<h2>Models</h2>{overview}<h2>Decisions due or expiring</h2>{due}"
            f"<h2>Sign-offs (signatures verified against the policy's keyring)</h2>{reviews}"
            f"{sections}</body></html>")


def incident_lines(log: IncidentLog, model: str, rules: IncidentReporting | None,
                   now: datetime) -> tuple[IncidentLine, ...]:
    lines = []
    for incident in log.for_model(model):
        if not incident.is_open:
            continue
        summary = incident_summary(incident, rules, now)
        due = summary.get("report_due")
        lines.append(IncidentLine(incident.id, incident.severity, incident.what,
                                  incident.aware_at, datetime.fromisoformat(due) if due else None,
                                  bool(summary.get("report_overdue"))))
    return tuple(lines)


def summarise(model: Model, decision: Decision, *, owner: str, policy: Policy,
              governance: Governance, now: datetime, bias_history: Sequence[BiasPoint] = (),
              injection_history: Sequence[InjectionPoint] = (),
              card: CardUnderReview | None = None) -> ModelSummary:
    """A model's pack entry from the governance state and its evidence history."""
    facts = GateFacts(model, policy, governance, {}, now, card)
    tier = policy.tiers[facts.subject.classification.tier]
    finding = committee_finding(governance.committee, facts.subject, tier, policy.committee.quorum, now)
    return ModelSummary(model.name, model.entry.version, facts.subject.classification.tier, owner,
                        decision.label, decision.reasons, tuple(bias_history), tuple(injection_history),
                        finding.due, incident_lines(governance.incidents, model.name,
                                                    governance.reporting, now),
                        decision.conditions, tier.injection.max_attack_success_rate,
                        card_review_state(facts) if card else "not checked",
                        committee_state(facts, finding))


def card_review_state(facts: GateFacts) -> str:
    """One line for the pack: who verifiably signed the card's review as it is now, or why it
    needs one."""
    from .decision import review_problems

    problems, reviewers = review_problems(facts)
    if not problems:
        return f"reviewed, signatures verified: {', '.join(reviewers)} (card sha256 {facts.card.sha256[:12]})"
    return "; ".join(p.removeprefix("model_card: ").split("; record one")[0] for p in problems)


def committee_state(facts: GateFacts, finding) -> str:
    """One line for the pack: the committee's standing word and who verifiably signed it."""
    record = finding.standing
    if record is None:
        return "no committee decision"
    signers = signed_by(facts.governance.committee, record)
    return (f"{record.decision} (record {record.seq} of {record.decided_on}); signatures verified: "
            f"{signers}; names typed: {record.who}")
