"""Every segment the registry entry or the card declares is required: absent from the evaluation
data, or below the policy's minimum, the bias report is insufficient (needs review), never
passed, protected or not; the data contract names the values that are missing.

The attacks are run on a copy of the demo inventory's credit-default (its real evaluation rows,
registry entry, card and policy): the `<25` age band is the one the card says is flagged more."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from aisec_pipeline.assessments import assess_bias, assess_evaluation_data
from aisec_pipeline.fairness.bias import card_split_keys, measure_frame
from aisec_pipeline.fairness.evidence import performance_splits
from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory.loader import load_model
from aisec_pipeline.verdict import Status

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture
def credit(tmp_path):
    """A copy of credit-default (entry, card, evaluation data; no artifact needed) and the policy."""
    source = ASSETS / "models" / "credit-default"
    folder = tmp_path / "models" / "credit-default"
    folder.mkdir(parents=True)
    for name in ("model.yaml", "card.md"):
        shutil.copy(source / name, folder / name)
    shutil.copytree(source / "data", folder / "data")
    return folder, load_policy(ASSETS)


def rewrite_rows(folder: Path, keep) -> None:
    path = folder / "data" / "evaluation.csv"
    frame = pd.read_csv(path, dtype=str)
    frame[keep(frame)].to_csv(path, index=False)
    resign_statement(folder)


def resign_statement(folder: Path) -> None:
    """The producer signs the edited file (binding it to the artifact), so what is judged here is
    the segment rule alone; an unsigned edit is blocked by the binding (tests/binding)."""
    from signing import demo_key

    from aisec_pipeline.binding.statement import write_statement
    from aisec_pipeline.trust.keys import load_signer

    write_statement(load_model(folder), load_signer(demo_key("Lukas Brenner")))


def gate_evidence(folder: Path, policy, tmp_path: Path):
    model = load_model(folder)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return assess_evaluation_data(model), assess_bias(model, policy, out)


def young_rows_cut_to(count: int):
    def keep(frame):
        young = frame["age_band"] == "<25"
        return ~young | (young.cumsum() <= count)
    return keep


def test_the_untouched_demo_data_meets_its_contract_and_passes(credit, tmp_path):
    folder, policy = credit
    contract, bias = gate_evidence(folder, policy, tmp_path)
    assert contract.status is Status.PASSED, contract.reasons
    assert bias.status is Status.PASSED, bias.reasons


def test_a_declared_segment_thinned_below_the_minimum_needs_review(credit, tmp_path):
    folder, policy = credit
    rewrite_rows(folder, young_rows_cut_to(20))
    contract, bias = gate_evidence(folder, policy, tmp_path)
    assert contract.status is Status.PASSED  # 871 rows, every declared value present
    assert bias.status is Status.UNASSESSED and bias.figures["outcome"] == "insufficient"
    assert bias.reasons[0] == ("needs review: declared or protected segment(s) below the minimum 30 per "
                               "denominator: age_band=<25")
    assert {"segment": "age_band=<25", "metric": "selection_rate", "n": 20, "minimum": 30} in bias.figures["review"]


def test_a_declared_segment_deleted_entirely_fails_the_contract_and_needs_review(credit, tmp_path):
    folder, policy = credit
    rewrite_rows(folder, young_rows_cut_to(0))
    contract, bias = gate_evidence(folder, policy, tmp_path)
    assert contract.status is Status.FAILED
    assert contract.reasons == ("expect_column_distinct_values_to_contain_set failed on column 'age_band': "
                                "1 declared value(s) absent from the data: '<25'",)
    assert bias.status is Status.UNASSESSED and bias.figures["outcome"] == "insufficient"
    assert bias.reasons[0] == "needs review: declared or protected segment(s) absent from the data: age_band=<25"
    assert {"segment": "age_band=<25", "metric": "fpr", "n": 0, "minimum": 30} in bias.figures["review"]


def test_a_segment_the_cards_splits_list_is_required_too(credit, tmp_path):
    """The card says it measured women under 25; data without enough of them cannot pass."""
    folder, policy = credit
    card = folder / "card.md"
    table = ("\n## Demographic performance splits\n\n| Segment | n | FPR | Status |\n|---|---|---|---|\n"
             "| overall | 1000 | 0.20 | |\n| sex=female x age_band=<25 | 88 | 0.30 | ok |\n")
    card.write_text(card.read_text() + table)
    model = load_model(folder)
    assert card_split_keys(card, model.entry.evaluation) == ("sex=female x age_band=<25",)
    _, bias = gate_evidence(folder, policy, tmp_path)  # the entry declares no intersection
    assert bias.status is Status.UNASSESSED
    assert "absent from the data: sex=female x age_band=<25" in bias.reasons[0]


def test_the_splits_table_the_gate_writes_reads_back_as_its_segments(credit):
    folder, policy = credit
    model = load_model(folder)
    evaluation = model.entry.evaluation.model_copy(update={"intersections": (("sex", "age_band"),)})
    frame = pd.read_csv(folder / "data" / "evaluation.csv")
    report = measure_frame(frame, evaluation, policy.tier_for(model.entry).bias)
    card = folder / "card.md"
    card.write_text(card.read_text() + "\n## Demographic performance splits\n\n"
                    + performance_splits(report, date(2026, 12, 1)))
    assert set(card_split_keys(card, evaluation)) == set(report.segment_rows["key"])


def test_a_thin_undeclared_segment_still_does_not_block(credit):
    """Only what the entry, card or policy names is required: an extra value is listed, not blocking."""
    folder, policy = credit
    model = load_model(folder)
    frame = pd.read_csv(folder / "data" / "evaluation.csv")
    frame.loc[frame.index[:5], "sex"] = "diverse"
    report = measure_frame(frame, model.entry.evaluation, policy.tier_for(model.entry).bias)
    assert report.outcome == "passed"
    assert any(item.segment == "sex=diverse" for item in report.review())


def test_the_first_review_items_are_the_first_of_the_whole_list(credit):
    """The terminal and the verdict build only the first items; they must be the JSON's first."""
    folder, policy = credit
    model = load_model(folder)
    frame = pd.read_csv(folder / "data" / "evaluation.csv")
    frame = frame[frame["age_band"] != "<25"]
    frame.loc[frame.index[:5], "sex"] = "diverse"
    evaluation = model.entry.evaluation.model_copy(update={"intersections": (("sex", "age_band"),)})
    report = measure_frame(frame, evaluation, policy.tier_for(model.entry).bias)
    everything = report.review()
    assert report.review_total == len(everything) == len(report.review_table) > 12
    for limit in (3, 5, 12, len(everything) + 1):
        assert report.review(limit) == everything[:limit]
    assert everything[0].segment == "age_band=<25" and everything[0].n == 0
