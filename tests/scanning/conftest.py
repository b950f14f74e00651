"""One crafted corpus per test session, scanned once, shared by the verdict and rule tests."""

from __future__ import annotations

import pytest
from corpus import CorpusBuilder

from aisec_pipeline.scanning import FileReport, scan_file


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> CorpusBuilder:
    builder = CorpusBuilder(tmp_path_factory.mktemp("corpus"))
    builder.build()
    return builder


@pytest.fixture(scope="session")
def reports(corpus) -> dict[str, FileReport]:
    return {sample.name: scan_file(sample.path, sample.trusted) for sample in corpus.samples}
