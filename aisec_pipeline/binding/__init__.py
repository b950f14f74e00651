"""Predictions bound to the artifact: the bias report judges predictions the registered model makes.

Two bindings, and the report says which one held:
- re-scored: an artifact the gate can run without executing arbitrary code (skops, with the
  types the registry trusts and the scan accepted) predicts the evaluation rows (all of them, or
  a recorded random sample) in a separate process with no network and time and memory limits,
  after its artifact_scan passed; the file's prediction column must agree (`rescore.py`).
- signed statement: otherwise (a pickle or joblib file, or a prediction column the registry
  declares to be a deployed tool's output), the evaluation file needs a DSSE statement signed
  by a keyring model owner that binds its sha256 to the artifact digest (`statement.py`).
"""
