"""Convert a GGUF chat model (llama architecture) into a CTranslate2 model, once, cached per user.

The GGUF is read as data with `gguf.GGUFReader`: its tensors are dequantized with numpy into the
float32 weights they stand for, its BPE vocabulary and merges become a `tokenizers` tokenizer,
and its chat template is kept as text (rendered later only in a Jinja sandbox, `chat_server`).
Nothing from the file is imported, unpickled or executed.

The result lives in `$AISEC_MODEL_CACHE` (default `${XDG_CACHE_HOME:-~/.cache}/aisec/ct2`) under
the GGUF's sha256 and this converter's format version: a changed GGUF (or converter) converts
anew. A conversion is written to a `.partial-*` folder and renamed into place only when complete,
so a half-written model is never used. By hand:
`python -m aisec_pipeline.redteam.gguf_convert FILE.gguf` prints the converted folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

FORMAT = "1"  # bump when the conversion's output changes
QUANTIZATION = "int8_float32"  # int8 weights, float32 activations (docs/redteam.md)
MANIFEST = "aisec-conversion.json"
TOKEN_CONTROL, TOKEN_USER_DEFINED = 3, 4  # GGUF token types matched as whole special tokens
# GGUF's pre-tokenizer names whose regex is GPT-2's with digits split one by one (llama.cpp).
DIGIT_SPLITTING_PRE = {"smollm", "starcoder", "refact"}


class ConversionError(Exception):
    """The GGUF is not a model this converter supports, or could not be read."""


def cache_root() -> Path:
    configured = os.environ.get("AISEC_MODEL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aisec" / "ct2"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def cached_model(gguf_path: Path) -> Path | None:
    """The converted folder for this GGUF if a complete one exists, else None."""
    folder = cache_root() / f"{sha256_of(gguf_path)}-v{FORMAT}"
    return folder if (folder / MANIFEST).is_file() else None


def convert_cached(gguf_path: Path) -> Path:
    """The converted folder for this GGUF, converting it first if the cache has none."""
    digest = sha256_of(gguf_path)
    root = cache_root()
    folder = root / f"{digest}-v{FORMAT}"
    if (folder / MANIFEST).is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        convert(gguf_path, partial)
        if sha256_of(gguf_path) != digest:
            raise ConversionError(f"{gguf_path} changed while it was being converted")
        try:
            partial.rename(folder)
        except OSError:
            if not (folder / MANIFEST).is_file():  # not another process's complete conversion
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def convert(gguf_path: Path, out: Path) -> None:
    """Write the CTranslate2 model, `tokenizer.json`, the chat template and the manifest."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(gguf_path)
    except Exception as exc:  # noqa: BLE001 - any parse failure: not a readable GGUF
        raise ConversionError(f"{gguf_path} is not a readable GGUF file: {exc}") from None
    fields = _Fields(reader)
    if fields.get("general.architecture") != "llama":
        raise ConversionError(f"{gguf_path}: only llama-architecture GGUF models are served "
                              f"(this one is {fields.get('general.architecture')!r})")
    if fields.get("tokenizer.ggml.model") != "gpt2":
        raise ConversionError(f"{gguf_path}: only byte-level BPE (gpt2) tokenizers are supported")
    tokens = fields.require("tokenizer.ggml.tokens")
    spec = _model_spec(reader, fields, tokens)
    spec.validate()
    spec.optimize(quantization=QUANTIZATION)
    spec.save(str(out))
    _tokenizer(fields, tokens).save(str(out / "tokenizer.json"))
    manifest = {"gguf": gguf_path.name, "format": FORMAT, "quantization": QUANTIZATION,
                "bos_token_id": fields.require("tokenizer.ggml.bos_token_id"),
                "eos_token_id": fields.require("tokenizer.ggml.eos_token_id"),
                "chat_template": fields.get("tokenizer.chat_template"),
                "context_length": fields.get("llama.context_length")}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


class _Fields:
    def __init__(self, reader):
        self.fields = reader.fields

    def get(self, key: str):
        field = self.fields.get(key)
        return None if field is None else field.contents()

    def require(self, key: str):
        value = self.get(key)
        if value is None:
            raise ConversionError(f"the GGUF has no {key}")
        return value


def _model_spec(reader, fields: _Fields, tokens: list[str]):
    from ctranslate2.specs import attention_spec, common_spec, transformer_spec

    if fields.get("llama.rope.scaling.type") not in (None, "none"):
        raise ConversionError("rope scaling is not supported")
    heads = fields.require("llama.attention.head_count")
    heads_kv = fields.get("llama.attention.head_count_kv") or heads
    layers = fields.require("llama.block_count")
    spec = transformer_spec.TransformerDecoderModelSpec.from_config(
        layers, heads, activation=common_spec.Activation.SWISH, pre_norm=True, ffn_glu=True,
        rms_norm=True, rotary_dim=0,
        rotary_interleave=True,  # GGUF stores q/k for llama.cpp's pairwise ("normal") RoPE
        rotary_scaling_type=None, rotary_base=float(fields.get("llama.rope.freq_base") or 10000),
        num_heads_kv=None if heads_kv == heads else heads_kv)
    weights = _Weights(reader)
    decoder = spec.decoder
    decoder.scale_embeddings = False
    decoder.embeddings.weight = weights["token_embd.weight"]
    decoder.layer_norm.gamma = weights["output_norm.weight"]
    decoder.projection.weight = weights.get("output.weight", "token_embd.weight")  # tied
    for number, layer in enumerate(decoder.layer):
        block = f"blk.{number}."
        layer.self_attention.layer_norm.gamma = weights[block + "attn_norm.weight"]
        layer.self_attention.linear[0].weight = weights.stacked(
            [block + "attn_q.weight", block + "attn_k.weight", block + "attn_v.weight"])
        layer.self_attention.linear[1].weight = weights[block + "attn_output.weight"]
        layer.ffn.layer_norm.gamma = weights[block + "ffn_norm.weight"]
        layer.ffn.linear_0.weight = weights[block + "ffn_gate.weight"]
        layer.ffn.linear_0_noact.weight = weights[block + "ffn_up.weight"]
        layer.ffn.linear_1.weight = weights[block + "ffn_down.weight"]
    _ = attention_spec  # imported for the side effect of registering the spec types
    spec.register_vocabulary(tokens)
    spec.config.bos_token = tokens[fields.require("tokenizer.ggml.bos_token_id")]
    spec.config.eos_token = tokens[fields.require("tokenizer.ggml.eos_token_id")]
    unknown = fields.get("tokenizer.ggml.unknown_token_id")
    spec.config.unk_token = tokens[unknown] if unknown is not None else ""
    spec.config.layer_norm_epsilon = float(fields.require("llama.attention.layer_norm_rms_epsilon"))
    return spec


class _Weights:
    """Tensors by GGUF name, dequantized to float32 numpy arrays shaped (rows, columns)."""

    def __init__(self, reader):
        self.tensors = {tensor.name: tensor for tensor in reader.tensors}

    def __getitem__(self, name: str):
        import numpy as np
        from gguf.quants import dequantize

        tensor = self.tensors.get(name)
        if tensor is None:
            raise ConversionError(f"the GGUF has no tensor {name}")
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        shape = [int(size) for size in reversed(tensor.shape)]  # GGUF lists the fastest axis first
        return np.ascontiguousarray(values.reshape(shape))

    def get(self, name: str, fallback: str):
        return self[name if name in self.tensors else fallback]

    def stacked(self, names: list[str]):
        import numpy as np

        return np.concatenate([self[name] for name in names])


def _tokenizer(fields: _Fields, tokens: list[str]):
    """The GGUF's byte-level BPE as a `tokenizers` tokenizer, special tokens matched whole."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    merges = [tuple(merge.split(" ", 1)) for merge in fields.require("tokenizer.ggml.merges")]
    vocab = {token: number for number, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if fields.get("tokenizer.ggml.pre") in DIGIT_SPLITTING_PRE:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    types = fields.get("tokenizer.ggml.token_type") or []
    special = [AddedToken(tokens[number], special=True, normalized=False)
               for number, kind in enumerate(types) if kind in (TOKEN_CONTROL, TOKEN_USER_DEFINED)]
    tokenizer.add_special_tokens(special)
    return tokenizer


def main(argv: list[str] | None = None) -> int:
    from ..exits import EXIT_OK, fail

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        return fail("usage: python -m aisec_pipeline.redteam.gguf_convert FILE.gguf", code=2)
    try:
        print(convert_cached(Path(args[0])))
    except (ConversionError, OSError) as exc:
        return fail(exc)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
