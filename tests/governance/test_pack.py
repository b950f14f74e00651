"""The committee pack: self-contained HTML with SVG charts, checked in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import date, datetime, timedelta, timezone

import pytest

from aisec_pipeline.governance.committee import DecisionDue
from aisec_pipeline.governance.decision import read_governance
from aisec_pipeline.governance.incidents import INCIDENT_FILE, record_event
from aisec_pipeline.governance.pack import (BiasPoint, IncidentLine, InjectionPoint, ModelSummary,
                                            build_pack, summarise)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
MONTHS = [date(2026, m, 1) for m in (8, 9, 10, 11)]


def _summaries() -> list[ModelSummary]:
    bias = tuple(BiasPoint(d, seg, "fpr", v + i * 0.02, v + i * 0.02 - 0.03, v + i * 0.02 + 0.03)
                 for i, d in enumerate(MONTHS)
                 for seg, v in (("sex=female,age<25", 0.55), ("sex=female,age>45", 0.10)))
    injection = tuple(InjectionPoint(d, "promptinject.HijackHateHumans", 0.8 - i * 0.1)
                      for i, d in enumerate(MONTHS))
    return [
        ModelSummary("risk-scorer", "1.0.0", "high", "Ada Byron", "blocked",
                     ("bias_report: failed: fpr gap 0.45 for sex=female,age<25",),
                     bias_history=bias,
                     decisions_due=(DecisionDue("risk-scorer", "approval needed (tier high)"),),
                     open_incidents=(IncidentLine("INC-0001", "serious", "wrongful detention flag",
                                                  NOW - timedelta(days=3), NOW + timedelta(days=7)),)),
        ModelSummary("support-chat", "0.1.2", "medium", "Alan Turing", "approved",
                     injection_history=injection, conditions=("quarterly red team",),
                     injection_limit=0.10),
        ModelSummary("<script>alert(1)</script>", "9", "low", "Eve <eve@example.org>", "blocked",
                     ("reason with <b>markup</b>",)),
    ]


def test_pack_lists_every_model_with_charts_and_escapes_text():
    html = build_pack(_summaries(), NOW)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2  # 1 bias, 1 injection
    for text in ("risk-scorer", "support-chat", "approval needed (tier high)", "INC-0001",
                 "quarterly red team", "sex=female,age&lt;25", "limit 0.10",
                 "Bias: fpr by segment over time"):
        assert text in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>markup</b>" not in html
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched from a network
    assert "default-src 'none'" in html


def test_pack_lists_over_refusal_with_its_interval_next_to_attack_success():
    over_refusal = "over-refusal: ordinary in-scope questions refused"
    points = (InjectionPoint(MONTHS[-2], over_refusal, 0.5, 0.3, 0.7),
              InjectionPoint(MONTHS[-1], over_refusal, 6 / 18, 0.163, 0.562),
              InjectionPoint(MONTHS[-1], "encoding.InjectBase64 / encoding.DecodeMatch", 0.0, 0.0,
                             0.117))
    html = build_pack([ModelSummary("support-chat", "0.1.2", "medium", "Alan Turing", "blocked",
                                    injection_history=points, injection_limit=0.10)], NOW)
    latest = html.split("Latest injection battery")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", latest)
    assert rows == [("encoding.InjectBase64 / encoding.DecodeMatch", "0% (95% CI 0%-12%)", "2026-11-01"),
                    (over_refusal, "33% (95% CI 16%-56%)", "2026-11-01")]  # the newest, not 50%
    assert html.count('stroke-opacity="0.5"') == 3  # each point's interval drawn as a bar
    bare = build_pack([ModelSummary("x", "1", "low", "o", "blocked")], NOW)
    assert "Latest injection battery" not in bare  # no battery: no empty table


def _summary(inv, model, now, verdicts):
    policy = inv.policy()
    decision = inv.decide(model, verdicts, now)
    return summarise(model, decision, owner="Amara Okafor", policy=policy,
                     governance=read_governance(inv.root, policy, now), now=now, card=inv.card(model))


def test_summarise_builds_a_pack_entry_from_governance_state(gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("scored", tier="high")
    gov_inventory.record(model, "approve", rationale="ok", members=["Ada Byron"],
                         decided_on=now.date() - timedelta(days=170), conditions=["monthly check"])
    record_event(gov_inventory.root / INCIDENT_FILE, "open", actor="Ada Byron", what="bad output",
                 model=model.name, version="1.0.0", severity="serious",
                 aware_at=now - timedelta(days=1), now=now - timedelta(hours=20))
    summary = _summary(gov_inventory, model, now, clean_verdicts())
    assert summary.status == "blocked" and summary.tier == "high"
    assert any(r.startswith("incidents: incident INC-0001") for r in summary.reasons)
    assert summary.decisions_due[0].due_on == now.date() + timedelta(days=10)
    assert summary.open_incidents[0].report_due == now - timedelta(days=1) + timedelta(days=15)
    assert summary.conditions[0] == "monthly check" and "DEMO keys" in summary.conditions[-1]
    assert summary.injection_limit == gov_inventory.policy().tiers["high"].injection.max_attack_success_rate
    # Who signed what, verified: the keyring's names, never the typed ones alone.
    assert summary.committee == ("approve (record 1 of 2026-06-08); signatures verified: Priya Raman, "
                                 "Helen Okafor; names typed: Ada Byron")
    assert summary.card_review.startswith("reviewed, signatures verified: Jonas Weber on 2026-11-24, "
                                          "Priya Raman on 2026-11-24 (card sha256 ")
    html = build_pack([summary], now)
    assert "signatures verified: Priya Raman, Helen Okafor; names typed: Ada Byron" in html


def test_the_pack_shows_an_unsigned_decision_and_an_unsigned_review_as_unverified(
        gov_inventory, clean_verdicts, now):
    model = gov_inventory.add_model("typed", tier="low", reviewed=False)
    gov_inventory.review(model, "Jonas Weber", signer=None)
    gov_inventory.record(model, "block", signers=(), rationale="vendor unknown",
                         members=["Priya Raman", "Helen Okafor"])
    summary = _summary(gov_inventory, model, now, clean_verdicts())
    assert summary.status == "blocked"
    assert summary.committee == ("block (record 1 of 2026-11-01); signatures verified: nobody "
                                 "verified; names typed: Priya Raman, Helen Okafor")
    assert "Jonas Weber" in summary.card_review and "not signed" in summary.card_review
    assert "reviewed, signatures verified" not in summary.card_review
    html = build_pack([summary], now)
    assert "signatures verified: nobody verified" in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="aisec-chromium-")
    try:
        return subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_pack_renders_in_a_headless_browser(tmp_path):
    from PIL import Image

    page = tmp_path / "pack.html"
    page.write_text(build_pack(_summaries(), NOW), encoding="utf-8")
    shot = tmp_path / "pack.png"
    _run_chromium(_chromium(), "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 0
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # text, charts and badges, not a blank page
    dom = _run_chromium(_chromium(), "--dump-dom", page.as_uri()).stdout
    for name in ("risk-scorer", "support-chat", "&lt;script&gt;alert(1)&lt;/script&gt;"):
        assert name in dom
    assert dom.count("<svg") == 2 and dom.count("<polyline") >= 3 and "<circle" in dom
