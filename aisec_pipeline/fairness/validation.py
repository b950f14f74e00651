"""The evaluation data contract, checked with great-expectations 1.24 in ephemeral mode.

Expectations: every used column exists; label and prediction take only 0/1; each segment
column takes only its declared values and holds every one of them (a declared segment deleted
from the data is named); nulls per column stay within max_null_fraction; the table has at
least min_rows rows. Ephemeral mode writes no files and makes no network calls.
The GX context is built once per process (importing GX costs 2-3 s).
"""

from __future__ import annotations

import functools
import itertools
import threading
from pathlib import Path

import pandas as pd

from ..inventory.schema import Evaluation
from ..kind_names import EVALUATION_DATA
from ..verdict import Status, Verdict
from .counts import DataError, binary_coding
from .tables import TableError, describe_columns, read_table

KIND = EVALUATION_DATA
_lock = threading.Lock()
_names = itertools.count()


def load_evaluation_data(path: Path, evaluation: Evaluation) -> tuple[pd.DataFrame | None, Verdict]:
    """Read the evaluation file and validate it. The frame is None when it could not be read."""
    try:
        frame = read_table(path)
    except TableError as exc:
        return None, Verdict(KIND, Status.FAILED, (f"cannot read evaluation data: {exc}",))
    return frame, validate_evaluation(frame, evaluation)


def validate_evaluation(frame: pd.DataFrame, evaluation: Evaluation) -> Verdict:
    """Verdict(kind="evaluation_data"); each failed reason names the expectation and column."""
    try:
        results = _run_suite(_prepared(frame, evaluation), evaluation)
    except Exception as exc:  # noqa: BLE001 - GX itself failing must not pass the data
        return Verdict.unassessed(KIND, f"great-expectations could not validate the data: "
                                  f"{type(exc).__name__}: {exc}")
    missing = {r.expectation_config.kwargs.get("column") for r in results
               if r.expectation_config.type == "expect_column_to_exist" and not r.success}
    reasons = [_describe(r, list(map(str, frame.columns))) for r in results if not r.success
               and (r.expectation_config.type == "expect_column_to_exist"
                    or r.expectation_config.kwargs.get("column") not in missing)]
    figures = {"rows": len(frame), "expectations": len(results),
               "failed_expectations": sum(not r.success for r in results),
               "null_fraction": _null_fractions(frame, evaluation), "results": _results(results)}
    if reasons:
        return Verdict(KIND, Status.FAILED, tuple(reasons), figures)
    return Verdict(KIND, Status.PASSED, (f"{len(results)} expectations met on {len(frame)} rows",), figures)


def _results(results: list) -> list[dict]:
    """Each expectation (with the column it checks) and whether the data met it."""
    def named(config) -> str:
        column = config.kwargs.get("column")
        return config.type.removeprefix("expect_") + (f" on {column}" if column else "")
    return [{"expectation": named(r.expectation_config), "met": bool(r.success)} for r in results]


def _used_columns(evaluation: Evaluation) -> list[str]:
    columns = [evaluation.label, evaluation.prediction, *evaluation.segments]
    if evaluation.score:
        columns.append(evaluation.score)
    return list(dict.fromkeys(columns))


def _prepared(frame: pd.DataFrame, evaluation: Evaluation) -> pd.DataFrame:
    """Segment columns as strings (nulls kept) so numeric codes match the declared strings;
    label and prediction coded 0/1 by the bias engine's own rule ("1", True, "true" are 1), so
    the contract accepts exactly what the measurement accepts."""
    prepared = frame.copy(deep=False)
    for column in evaluation.segments:
        if column in prepared.columns:
            prepared[column] = prepared[column].astype("string")
    for column in (evaluation.label, evaluation.prediction):
        if column in prepared.columns:
            prepared[column] = _coded(prepared[column], column)
    return prepared


def _coded(series: pd.Series, column: str) -> pd.Series:
    values = list(series.dropna().unique())
    try:
        coding = binary_coding(values, column)
    except DataError:
        return series  # left as it is: the value-set expectation names what is wrong
    return series.map(dict(zip(values, coding)))


def _expectations(evaluation: Evaluation) -> list:
    import great_expectations.expectations as gxe

    mostly = 1.0 - evaluation.max_null_fraction
    expectations = [gxe.ExpectTableRowCountToBeBetween(min_value=evaluation.min_rows)]
    for column in _used_columns(evaluation):
        expectations.append(gxe.ExpectColumnToExist(column=column))
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
    for column in (evaluation.label, evaluation.prediction):
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[0, 1]))
    for column, allowed in evaluation.segments.items():
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(allowed)))
        expectations.append(gxe.ExpectColumnDistinctValuesToContainSet(column=column, value_set=list(allowed)))
    return expectations


def _run_suite(frame: pd.DataFrame, evaluation: Evaluation) -> list:
    import great_expectations as gx

    with _lock:  # the shared context is not thread-safe
        context = _context()
        name = f"evaluation_{next(_names)}"
        batch = context.data_sources.get("aisec").add_dataframe_asset(name) \
            .add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=_expectations(evaluation)))
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        try:
            return list(definition.run(batch_parameters={"dataframe": frame}).results)
        finally:  # keep the cached context from growing with every validation
            context.validation_definitions.delete(name)
            context.suites.delete(name)
            context.data_sources.get("aisec").delete_asset(name)


@functools.cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("aisec")
    return context


def _describe(result, columns: list[str]) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column")
    where = f" on column {column!r}" if column else ""
    observed = result.result or {}
    if config.type == "expect_column_to_exist":
        detail = f"column is missing; the data has: {describe_columns(columns)}"
    elif config.type == "expect_table_row_count_to_be_between":
        detail = f"{observed.get('observed_value')} rows, need at least {config.kwargs.get('min_value')}"
    elif config.type == "expect_column_values_to_be_in_set":
        values = sorted({repr(v) for v in observed.get("partial_unexpected_list", [])})[:5]
        detail = (f"{observed.get('unexpected_count')} values outside {list(config.kwargs['value_set'])}, "
                  f"e.g. {', '.join(values)}")
    elif config.type == "expect_column_distinct_values_to_contain_set":
        missing = set(observed.get("partial_missing_list") or ())
        absent = [value for value in config.kwargs["value_set"] if value in missing]  # declared order
        detail = f"{observed.get('missing_count')} declared value(s) absent from the data: {', '.join(map(repr, absent))}"
    elif config.type == "expect_column_values_to_not_be_null":
        detail = f"{observed.get('unexpected_percent', 0):.1f}% null, allowed {100 * (1 - config.kwargs.get('mostly', 1)):.1f}%"
    else:
        detail = _exception_text(result) or "not met"
    return f"{config.type} failed{where}: {detail}"


def _exception_text(result) -> str:
    info = result.exception_info or {}
    if "exception_message" in info:
        return str(info.get("exception_message") or "")
    messages = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    return "; ".join(m for m in messages if m)


def _null_fractions(frame: pd.DataFrame, evaluation: Evaluation) -> dict[str, float]:
    return {c: round(float(frame[c].isna().mean()), 6) for c in _used_columns(evaluation)
            if c in frame.columns and len(frame)}
