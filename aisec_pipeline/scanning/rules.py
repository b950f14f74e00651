"""The rule catalogue: one declarative entry per rule the scanner can report, with its format and
severity. Format modules record findings through `ScanContext.flag(rule_id, ...)`, which takes the
severity from here; docs/scan-rules.md is generated from this table (`python -m
aisec_pipeline.scanning.rules > docs/scan-rules.md`) and a test walks every entry.

Severities: critical/high block (the file is unsafe); medium/low are recorded only. Rules whose id
starts with ``error.`` mean "could not be scanned": the file is blocked as an error (fail closed).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    format: str
    severity: str
    summary: str


def _rules(fmt: str, *entries: tuple[str, str, str]) -> list[Rule]:
    return [Rule(rule_id, fmt, severity, summary) for rule_id, severity, summary in entries]


RULES: tuple[Rule, ...] = tuple(
    _rules(
        "pickle",
        ("pickle.dangerous-global", "critical", "imports a name that runs code, touches files or the network, or imports modules"),
        ("pickle.dunder-global", "critical", "imports an attribute chain through a dunder name (e.g. print.__self__)"),
        ("pickle.malformed-global", "critical", "imports a name that is not a dotted Python identifier"),
        ("pickle.untrusted-global", "high", "imports a name that is neither allowlisted nor trusted by the registry entry"),
        ("pickle.unresolved-global", "critical", "STACK_GLOBAL operands are computed, so the imported name cannot be known"),
        ("pickle.indirect-call", "critical", "REDUCE/NEWOBJ/OBJ/BUILD applied to a computed object rather than an imported name"),
        ("pickle.build-on-global", "critical", "BUILD sets attributes on an imported class or function"),
        ("pickle.extension-registry", "high", "EXT opcodes call whatever the copyreg extension registry holds"),
        ("pickle.stacked", "medium", "a second pickle stream follows the first STOP (every stream is judged by its content)"),
        ("pickle.trailing-data", "high", "bytes that are not a pickle follow the STOP"),
        ("pickle.nesting-too-deep", "high", "joblib object arrays nest pickles deeper than the analyser follows"),
        ("pickle.frame-mismatch", "high", "a FRAME's declared length disagrees with the opcodes (straddled, nested or overlong frame)"),
        ("pickle.expansion-bomb", "high", "memo references or DUP chains expand a small file into a huge object graph on load"),
        ("pickle.impossible-structure", "high", "a dict used as its own key, a set containing itself or an unhashable key"),
        ("pickle.duplicate-proto", "high", "a PROTO opcode anywhere but at the start of the stream"),
    )
    + _rules(
        "zip",
        ("zip.unexpected-pickle", "medium", "a torch/npz/skops archive carries a pickle its loader does not read (judged by its content)"),
        ("zip.duplicate-member", "high", "two members share one name (loaders read the last one)"),
        ("zip.path-traversal", "high", "a member name escapes the archive (absolute path or ..)"),
        ("zip.nesting-too-deep", "high", "archives nested deeper than the scanner follows"),
        ("zip.nested-archive", "medium", "an archive inside an archive (its members are scanned)"),
        ("zip.bad-crc", "high", "a member's CRC does not match its content"),
        ("zip.bad-header", "high", "a member's local header disagrees with the central directory"),
        ("zip.encrypted-member", "high", "a member is flagged encrypted, so its content cannot be scanned"),
        ("zip.unusual-flags", "high", "a member carries flag bits no model writer sets (0x20 patched data, 0x40 strong encryption)"),
        ("error.unparseable-archive", "high", "the file starts like a zip but its directory cannot be read"),
        ("error.unreadable-member", "high", "a member cannot be decompressed"),
    )
    + _rules(
        "torchscript",
        ("torchscript.code", "low", "TorchScript source in code/: compiled by TorchScript (no imports, no Python), recorded"),
        ("torchscript.suspicious-code", "critical", "TorchScript code that imports, does not parse, or names an operator that reads/writes files or loads code"),
    )
    + _rules(
        "onnx",
        ("onnx.external-data-outside", "high", "a tensor's external data names a file outside the model's folder (absolute, .., or a symlink out)"),
        ("onnx.external-data", "low", "raw tensor bytes named as external data by an ONNX model in the same folder (recorded)"),
        ("onnx.custom-domain", "high", "an operator or opset from a custom domain: it runs only with a native custom-operator library"),
        ("error.unparseable-onnx", "high", "the ONNX protobuf does not parse, is over 2 GiB, or its external data is missing or inside an archive"),
    )
    + _rules(
        "containers",
        ("container.bomb", "high", "a compressed stream or archive expands beyond 1000x its size (256 MiB floor, 64 GiB cap) or 100,000 members"),
        ("tar.path-traversal", "high", "a tar/7z member name escapes the archive (absolute path or ..)"),
        ("tar.duplicate-member", "high", "two tar/7z members share one name (extraction keeps the last)"),
        ("tar.link-member", "high", "a tar member is a symbolic/hard link, device or FIFO (extraction can write outside the folder)"),
    )
    + _rules(
        "numpy",
        ("numpy.object-dtype", "medium", "an object array: its payload is a pickle (scanned as one)"),
        ("numpy.size-mismatch", "high", "the header's shape and dtype disagree with the data size"),
        ("numpy.bad-header", "high", "the .npy header is not a plausible literal dict"),
        ("error.unparseable-npy", "high", "unsupported .npy version, descr or shape"),
    )
    + _rules(
        "keras",
        ("keras.lambda-layer", "critical", "a Lambda layer carries Python code (in config.json, model_config or keras_metadata.pb)"),
        ("keras.custom-object", "high", "a layer needs custom code to load and is not trusted"),
        ("hdf5.no-model-config", "low", "an HDF5 file without a Keras model config (weights only)"),
        ("error.unparseable-config", "high", "a config (Keras, JSON, YAML) does not parse, repeats a key or is too large to parse"),
    )
    + _rules(
        "savedmodel",
        ("savedmodel.dangerous-op", "critical", "the graph uses an op that reads/writes files or runs Python (ReadFile, WriteFile, PyFunc, ...)"),
        ("error.unparseable-protobuf", "high", "a SavedModel protobuf cannot be parsed"),
        ("error.unparseable-index", "high", "a SavedModel variables index lacks the table footer"),
    )
    + _rules(
        "skops",
        ("skops.dangerous-type", "critical", "the schema names a type that runs code, touches files or the network"),
        ("skops.dunder-type", "critical", "the schema names an attribute chain through a dunder name"),
        ("skops.malformed-type", "critical", "a schema node does not name a class"),
        ("skops.untrusted-type", "high", "the schema names a type outside skops' defaults and the trusted types"),
    )
    + _rules(
        "gguf",
        ("gguf.template-injection", "critical", "the chat template reaches for attributes or names only sandbox escapes use"),
        ("error.unparseable-template", "high", "the chat template is not a string or does not parse"),
        ("error.unsupported-nesting", "high", "GGUF inside an archive is not scanned"),
    )
    + _rules(
        "repository",
        ("repo.remote-code", "high", "a config's auto_map/custom_pipelines (or trust_remote_code: true) names code transformers imports from the repository"),
        ("repo.python-code", "high", "Python source in the repository (the finding names the config that imports it, if any)"),
        ("repo.script", "high", "an executable script (#!) in the repository"),
        ("repo.template-injection", "critical", "a chat template (tokenizer_config.json, *.jinja) reaches for attributes or names only sandbox escapes use"),
        ("repo.dangerous-target", "critical", "a config's Hydra _target_ names a type with a known code-execution path"),
        ("repo.instantiates", "medium", "a config's Hydra _target_ names a class the loader instantiates (recorded)"),
        ("repo.text", "low", "tokenizer/vocabulary files (SentencePiece models too), Markdown, licences and other plain text: data, not executed"),
    )
    + _rules(
        "safetensors",
        ("safetensors.header-length", "high", "the header length exceeds the file or the cap"),
        ("safetensors.invalid-json", "high", "the header is not a JSON object (or repeats a key)"),
        ("safetensors.bad-entry", "high", "a tensor entry lacks a known dtype, an integer shape or two offsets"),
        ("safetensors.offsets-out-of-bounds", "high", "a tensor spans bytes outside the data section"),
        ("safetensors.offsets-overlap", "high", "two tensors overlap"),
        ("safetensors.offsets-gap", "high", "bytes between tensors are unaccounted for"),
        ("safetensors.size-mismatch", "high", "a tensor's dtype x shape disagrees with its span"),
        ("safetensors.trailing-data", "high", "bytes after the last tensor"),
    )
    + _rules(
        "any",
        ("error.unknown-format", "high", "the content matches no supported model format"),
        ("error.not-scanned", "high", "a symlink or a missing path (symlinks are never followed)"),
        ("error.unreadable-file", "high", "the file cannot be read"),
        ("error.changed-while-scanned", "high", "the file's bytes changed between two reads of one scan (its digest would name bytes nobody analysed)"),
        ("error.truncated-pickle", "high", "a pickle ends before its STOP"),
        ("error.unparseable-pickle", "high", "a pickle holds an opcode no unpickler knows"),
        ("error.malformed-pickle", "high", "a pickle's stack or marks are inconsistent"),
        ("error.unresolvable-array", "high", "the size of a joblib array cannot be told, so the stream cannot be followed"),
        ("error.unresolvable-storage", "high", "a legacy torch file's storage keys do not match its tensors"),
        ("error.truncated-file", "high", "a legacy torch storage is cut short"),
        ("error.engine-failed", "high", "an engine crashed or could not parse the input"),
    )
    + _rules(
        "engines",
        ("picklescan.dangerous-global", "critical", "picklescan (strict) lists the global as dangerous"),
        ("picklescan.unknown-global", "high", "picklescan (strict) does not know the global and aisec does not trust it"),
        ("modelscan.unsafe-operator", "critical", "modelscan reports an unsafe operator (severity as modelscan reports it)"),
    )
)
BY_ID = {rule.id: rule for rule in RULES}
# Rules recorded with the severity their engine reports, not the catalogue's.
ENGINE_SEVERITY = frozenset({"modelscan.unsafe-operator"})


def severity_of(rule_id: str) -> str:
    return BY_ID[rule_id].severity


def catalogue_markdown() -> str:
    """docs/scan-rules.md, generated from RULES."""
    lines = [
        "# Scan rules",
        "",
        "Generated from `aisec_pipeline/scanning/rules.py` by",
        "`python -m aisec_pipeline.scanning.rules > docs/scan-rules.md`; do not edit by hand.",
        "",
        "critical/high findings block the file (unsafe); `error.*` rules block it as unscannable",
        "(fail closed); medium/low findings are recorded only.",
    ]
    for fmt in dict.fromkeys(rule.format for rule in RULES):
        lines += ["", f"## {fmt}", "", "| rule | severity | meaning |", "|---|---|---|"]
        lines += [f"| `{r.id}` | {r.severity} | {r.summary} |" for r in RULES if r.format == fmt]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(catalogue_markdown())
