"""Shared fixtures: the real COMPAS evaluation rows (ProPublica filter) and their counts."""

from __future__ import annotations

import pandas as pd
import pytest

from aisec_pipeline.fairness.counts import cell_counts
from aisec_pipeline.fairness.demo_data import COMPAS_SEGMENTS, load_compas
from aisec_pipeline.governance.policy import BiasPolicy
from aisec_pipeline.inventory.schema import Evaluation

LABEL, PREDICTION = "two_year_recid", "prediction"


@pytest.fixture(scope="session")
def compas() -> pd.DataFrame:
    return load_compas()


@pytest.fixture(scope="session")
def compas_counts(compas) -> pd.DataFrame:
    return cell_counts(compas, LABEL, PREDICTION, list(COMPAS_SEGMENTS))


@pytest.fixture
def compas_evaluation() -> Evaluation:
    return Evaluation(data="compas.parquet", label=LABEL, prediction=PREDICTION, segments=COMPAS_SEGMENTS,
                      intersections=(("sex", "age_cat"),), min_rows=1000)


@pytest.fixture
def policy() -> BiasPolicy:
    return BiasPolicy(max_difference=0.15, min_count=30)


def _balanced(groups: dict[str, int], column: str = "g") -> pd.DataFrame:
    """Rows with the same confusion pattern in every group (no gap anywhere): each block of ten
    rows has 4 TN, 2 FP, 3 TP, 1 FN. Sizes are multiples of ten."""
    labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    predictions = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    blocks = [(name, size // 10) for name, size in groups.items()]
    return pd.DataFrame({
        column: [name for name, k in blocks for _ in range(10 * k)],
        "y": [v for _, k in blocks for v in labels * k],
        "p": [v for _, k in blocks for v in predictions * k],
    })


@pytest.fixture
def balanced():
    return _balanced
