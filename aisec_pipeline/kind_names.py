"""The evidence kinds' names, written once. `evidence_kinds.REGISTRY` gives each its meaning;
each domain stamps its verdicts with the name from here, so a name is never typed twice."""

ARTIFACT_SCAN = "artifact_scan"
EVALUATION_DATA = "evaluation_data"
BIAS_REPORT = "bias_report"
INJECTION_REPORT = "injection_report"
MODEL_CARD = "model_card"
PRODUCTION_BIAS = "production_bias"
