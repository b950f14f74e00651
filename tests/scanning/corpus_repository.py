"""Generators for whole model repositories and the containers they ship in (issue 19): a real
Hugging Face folder written by transformers and tokenizers, the same folder made malicious
(auto_map remote code, a chat template that reaches `os`), Hydra configs. Every payload only
writes a marker file, and nothing here is ever loaded by the scanner.
"""

from __future__ import annotations

import json
from pathlib import Path

SAFE_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def write_hf_repository(folder: Path) -> None:
    """A real (tiny) Hugging Face model folder: tokenizer trained here, GPT-2 weights, card."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    tok.train_from_iterator(["hello world, the model is small and harmless"] * 10,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<|im_start|>", "<|im_end|>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<|im_start|>",
                                        eos_token="<|im_end|>")
    tokenizer.chat_template = SAFE_TEMPLATE
    tokenizer.save_pretrained(folder)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=300, n_positions=64,
                               bos_token_id=1, eos_token_id=2)).save_pretrained(folder)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n\n# tiny\n\n"
                                      "```python\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained('x')\n```\n")
    (folder / "vocab.txt").write_text("hello\nworld\nmodel\n")
    (folder / "merges.txt").write_text("#version: 0.2\nh e\nl l\n")
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (folder / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}))
    (folder / "tokenizer.model").write_bytes(_sentencepiece_model())


def _sentencepiece_model() -> bytes:
    """A real SentencePiece model (what Llama/T5 repositories ship as tokenizer.model)."""
    import io

    import sentencepiece

    buffer = io.BytesIO()
    lines = ["hello world the model is small"] * 50 + ["another line of text here"] * 50
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buffer, vocab_size=20,
                                             model_type="unigram", minloglevel=2)
    return buffer.getvalue()


def hf_clean(b) -> None:
    folder = b.root / "hf_clean"
    folder.mkdir()
    write_hf_repository(folder)
    for path in sorted(folder.iterdir()):
        b.add(f"hf_clean/{path.name}", None, "safe", renamable=path.suffix not in (".jinja", ".json", ".md", ".txt"))


def hf_malicious(b) -> None:
    folder = b.root / "hf_evil"
    folder.mkdir()
    write_hf_repository(folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_tiny.TinyConfig", "AutoModelForCausalLM": "modeling_tiny.TinyModel"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "modeling_tiny.py").write_text(
        f"import pathlib\npathlib.Path({b.marker('remote_code')!r}).touch()\n\nclass TinyModel:\n    pass\n")
    (folder / "configuration_tiny.py").write_text("class TinyConfig:\n    model_type = 'tiny'\n")
    evil = "{{ cycler.__init__.__globals__.os.popen('touch " + b.marker("template") + "').read() }}"
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "chat_template": evil}))
    (folder / "chat_template.jinja").write_text("{{ joiner.__init__.__globals__['os'] }}" + SAFE_TEMPLATE)
    (folder / "install.sh").write_text(f"#!/bin/sh\ntouch {b.marker('script')}\n")
    expected = {
        "config.json": ("unsafe", "repo.remote-code"),
        "modeling_tiny.py": ("unsafe", "repo.python-code"),
        "configuration_tiny.py": ("unsafe", "repo.python-code"),
        "tokenizer_config.json": ("unsafe", "repo.template-injection"),
        "chat_template.jinja": ("unsafe", "repo.template-injection"),
        "install.sh": ("unsafe", "repo.script"),
    }
    for name, (verdict, rule) in expected.items():
        b.add(f"hf_evil/{name}", None, verdict, rule, renamable=False)
    b.add("named_templates.json", json.dumps({"chat_template": [
        {"name": "default", "template": SAFE_TEMPLATE},
        {"name": "tool_use", "template": "{{ messages|attr('__class__') }}"}]}).encode(),
        "unsafe", "repo.template-injection")
    b.add("badge_readme.md", b"[![License](https://img.shields.io/badge/x)](https://x)\n# Model\n", "safe", "repo.text")
    b.add("vocab_keywords.json", b'{"model": {"vocab": {"chat_template": 5, "_target_": 7, "trust_remote_code": 1}}}', "safe")
    b.add("trust_remote_code.json", b'{"pipeline": {"trust_remote_code": true}}', "unsafe", "repo.remote-code")
    b.add("custom_pipelines.json", json.dumps({"custom_pipelines": {"my-task": {"impl": "pipe.MyPipe"}}}).encode(),
          "unsafe", "repo.remote-code")
    b.add("duplicate_key.json", b'{"model_type": "gpt2", "model_type": "evil"}', "error", "error.unparseable-config")
    b.add("broken.json", b'{"model_type": ', "error", "error.unparseable-config", renamable=False)  # unnamed: plain text
    b.add("python_without_suffix", f"import os\nos.mkdir({b.marker('py')!r})\n".encode(), "unsafe", "repo.python-code")
    b.add("hydra_evil.yaml", b"model:\n  _target_: subprocess.run\n  args: [touch, x]\n", "unsafe", "repo.dangerous-target",
          renamable=False)
    b.add("hydra_ok.yaml", b"model:\n  _target_: nemo.collections.asr.models.EncDecCTCModel\n  sample_rate: 16000\n",
          "safe", "repo.instantiates", renamable=False)
    b.add("python_tag.yaml", b"a: !!python/object/apply:os.system ['true']\n", "error", "error.unparseable-config",
          renamable=False)


STEPS = [hf_clean, hf_malicious]


def _torch_models(folder: Path) -> dict[str, Path]:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.conv, self.norm = torch.nn.Linear(3, 2), torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)
            self.sizes = [1, 2]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    paths = {name: folder / name for name in ("scripted.pt", "traced.pt", "layers.pt", "own_model.pt", "exported.pt2")}
    torch.jit.save(torch.jit.script(Net()), paths["scripted.pt"])
    Net.__module__, Net.__qualname__ = "mylab.models", "Net"  # as if imported from the user's package
    layers = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Dropout(0.1))
    torch.jit.save(torch.jit.trace(layers.eval(), torch.ones(1, 3)), paths["traced.pt"])
    torch.export.save(torch.export.export(layers.eval(), (torch.ones(1, 3),)), paths["exported.pt2"])
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                                   torch.nn.Flatten(), torch.nn.Linear(8, 4)), paths["layers.pt"])
    import sys
    import types

    package, module = types.ModuleType("mylab"), types.ModuleType("mylab.models")
    module.Net, package.models = Net, module
    sys.modules.update({"mylab": package, "mylab.models": module})
    try:
        torch.save(Net(), paths["own_model.pt"])
    finally:
        del sys.modules["mylab"], sys.modules["mylab.models"]
    return paths


def _rewrite_member(source: Path, target: Path, pick, change) -> None:
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info.filename, change(data) if pick(info.filename) else data)


def torch_models(b) -> None:
    """Benign peer-style samples that used to be blocked, and TorchScript made malicious."""
    import collections
    import decimal
    import pickle
    import random

    import numpy as np
    import torch

    import warnings

    folder = b.root / "torch_models"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated, and its archives are still shipped
        paths = _torch_models(folder)
    for name in ("scripted.pt", "traced.pt", "layers.pt", "exported.pt2"):
        b.add(f"torch_models/{name}", None, "safe")
    b.add("torch_models/own_model.pt", None, "unsafe", "pickle.untrusted-global")
    b.samples.append(type(b.samples[0])("own_model.pt (trusted)", paths["own_model.pt"], "safe", None,
                                        ("mylab.models.Net",), b.group))
    torch.save({"numpy": np.random.default_rng(0), "legacy": np.random.get_state(), "python": random.getstate()},
               b.root / "rng_state.pth")
    b.add("rng_state.pth", None, "safe")
    b.add("defaultdict.pkl", pickle.dumps(collections.defaultdict(list, {"a": [1.0]}), protocol=4), "safe")
    b.add("decimal_p0.pkl", pickle.dumps({"price": decimal.Decimal("1.50")}, protocol=0), "safe")
    b.add("stacked_lists.pkl", pickle.dumps([1, 2]) + pickle.dumps([3, 4]), "safe", "pickle.stacked")
    marker = b.marker("torchscript")
    evil_pickle = b"\x80\x02cposix\nsystem\nX" + bytes([len("touch " + marker)]) + b"\x00\x00\x00" + (
        "touch " + marker).encode() + b"\x85R."
    _rewrite_member(paths["scripted.pt"], b.root / "ts_evil_data.pt", lambda n: n.endswith("/data.pkl"), lambda _: evil_pickle)
    b.add("ts_evil_data.pt", None, "unsafe", "pickle.dangerous-global")
    _rewrite_member(paths["scripted.pt"], b.root / "ts_evil_constants.pt", lambda n: n.endswith("/constants.pkl"),
                    lambda _: evil_pickle)
    b.add("ts_evil_constants.pt", None, "unsafe", "pickle.dangerous-global")
    own_code = "corpus_repository.py".__eq__  # the scripted class's code file is named after its module
    leak = b"  def leak(self: __torch__.corpus_repository.Net) -> Tensor:\n    return torch.from_file(\"/etc/passwd\", False, 100)\n"
    _rewrite_member(paths["scripted.pt"], b.root / "ts_from_file.pt", lambda n: own_code(n.rsplit("/", 1)[-1]),
                    lambda data: data.rstrip(b"\n") + b"\n" + leak)
    b.add("ts_from_file.pt", None, "unsafe", "torchscript.suspicious-code")
    _rewrite_member(paths["scripted.pt"], b.root / "ts_import.pt", lambda n: own_code(n.rsplit("/", 1)[-1]),
                    lambda data: b"import os\n" + data)
    b.add("ts_import.pt", None, "unsafe", "torchscript.suspicious-code")
    _rewrite_member(paths["exported.pt2"], b.root / "pt2_evil_inputs.pt2", lambda n: n.endswith("sample_inputs/model.pt"),
                    lambda _: evil_pickle)
    b.add("pt2_evil_inputs.pt2", None, "unsafe", "pickle.dangerous-global")


STEPS += [torch_models]


def _pickle_payload(marker: str) -> bytes:
    """builtins.open(marker, "w") as protocol 4: it only creates the marker file if loaded."""
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode()

    return b"\x80\x04" + text("builtins") + text("open") + b"\x93" + text(marker) + text("w") + b"\x86R."


def _tar_bytes(members: list[tuple[str, bytes]], mode: str = "w", links: list[tuple[str, str, bytes]] = ()) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    return buffer.getvalue()


def containers(b) -> None:
    """joblib's compressors, compressed pickles, tar/.nemo and 7z, benign and malicious."""
    import bz2
    import gzip
    import struct
    import lzma
    import pickle
    import tarfile

    import joblib
    import lz4.frame
    import numpy as np
    import py7zr
    import zstandard
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.random.default_rng(0).random((30, 3)), np.arange(30) % 2)
    trusted = ("sklearn.linear_model._logistic.LogisticRegression",)
    arrays = {"w": np.arange(1000.0), "b": np.ones((3, 3), dtype=np.int32)}
    for method in ("zlib", "gzip", "bz2", "lzma", "xz", "lz4"):
        joblib.dump(arrays, b.root / f"arrays_{method}.joblib", compress=(method, 3))
        b.add(f"arrays_{method}.joblib", None, "safe")
        joblib.dump(model, b.root / f"sklearn_{method}.joblib", compress=(method, 3))
        b.samples.append(type(b.samples[0])(f"sklearn_{method}.joblib (trusted)", b.root / f"sklearn_{method}.joblib",
                                            "safe", None, trusted, b.group))
        evil = [np.arange(10.0), _Payload(b.marker(f"joblib_{method}"))]
        joblib.dump(evil, b.root / f"evil_{method}.joblib", compress=(method, 3))
        b.add(f"evil_{method}.joblib", None, "unsafe", "pickle.dangerous-global")
    evil = _pickle_payload(b.marker("compressed"))
    benign = pickle.dumps({"weights": [0.5] * 100}, protocol=4)
    codecs = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress, "zst": zstandard.ZstdCompressor().compress,
              "lz4": lz4.frame.compress}
    for suffix, compress in codecs.items():
        b.add(f"model.pkl.{suffix}", compress(benign), "safe")
        b.add(f"evil.pkl.{suffix}", compress(evil), "unsafe", "pickle.dangerous-global")
    b.add("gz_in_gz.pkl.gz", gzip.compress(gzip.compress(evil)), "unsafe", "pickle.dangerous-global")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (0x178 - len(header))  # length 0x0178 starts like a zlib header (0x78 0x01)
    b.add("zlib_lookalike.safetensors", struct.pack("<Q", len(header)) + header + bytes(8), "safe")
    compressor, zeros = zstandard.ZstdCompressor().compressobj(), bytes(1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(300)) + compressor.flush()  # 300 MiB from ~10 KB
    b.add("zstd_bomb.zst", bomb, "unsafe", "container.bomb", renamable=False)  # slow to rescan 8 times
    b.add("gzip_truncated.gz", gzip.compress(benign)[:-12], "error", "error.unreadable-member")
    b.add("config.json.gz", gzip.compress(b'{"auto_map": {"AutoModel": "modeling_x.X"}}'), "unsafe", "repo.remote-code",
          renamable=False)
    weights = b.root / "torch_models" / "layers.pt"
    nemo = [("./model_config.yaml", b"target: nemo.collections.asr.models.EncDecCTCModel\nsample_rate: 16000\n"),
            ("./model_weights.ckpt", weights.read_bytes()), ("./tokenizer/vocab.txt", b"a\nb\n")]
    b.add("asr.nemo", _tar_bytes(nemo), "safe")
    b.add("asr_gz.nemo", _tar_bytes(nemo, "w:gz"), "safe")
    b.add("evil.nemo", _tar_bytes(nemo[:1] + [("./model_weights.ckpt", evil)]), "unsafe", "pickle.dangerous-global")
    hydra = b"model:\n  _target_: builtins.exec\n  _args_: ['import os']\n"
    b.add("hydra_evil.nemo", _tar_bytes([("./model_config.yaml", hydra)]), "unsafe", "repo.dangerous-target")
    b.add("checkpoint.tar.gz", _tar_bytes([("ckpt/weights.pkl", evil)], "w:gz"), "unsafe", "pickle.dangerous-global")
    b.add("tar_traversal.tar", _tar_bytes([("../../etc/cron.d/x", b"* * * * * root true\n")]), "unsafe", "tar.path-traversal")
    b.add("tar_symlink.tar", _tar_bytes([], links=[("model.pkl", "/etc/passwd", tarfile.SYMTYPE)]), "unsafe",
          "tar.link-member")
    b.add("tar_duplicate.tar", _tar_bytes([("w.pkl", benign), ("w.pkl", evil)]), "unsafe", "tar.duplicate-member")
    for name, members, verdict, rule in (("weights.7z", {"model.pkl": benign, "README.md": b"# card\n"}, "safe", None),
                                         ("evil_member.7z", {"model.pkl": evil}, "unsafe", "pickle.dangerous-global")):
        with py7zr.SevenZipFile(b.root / name, "w") as archive:
            for member, data in members.items():
                archive.writestr(data, member)
        b.add(name, None, verdict, rule)
    with py7zr.SevenZipFile(b.root / "encrypted.7z", "w", password="secret") as archive:
        archive.writestr(evil, "model.pkl")
    b.add("encrypted.7z", None, "unsafe", "zip.encrypted-member")


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


STEPS += [containers]


def _onnx_model(extra_nodes=(), functions=(), opsets=(), external: str | None = None, nested=None):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((3, 2), dtype=np.float32), "W")
    if external is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", "24")):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul"), *extra_nodes]
    if nested is not None:
        branch = helper.make_graph([nested], "then", [], [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 2])])
        nodes.append(helper.make_node("If", ["C"], ["Z"], name="if", then_branch=branch, else_branch=branch))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), *opsets], functions=list(functions),
                              producer_name="aisec-tests")
    return model.SerializeToString()


def onnx_models(b) -> None:
    import numpy as np
    from onnx import helper

    b.add("onnx_ok.onnx", _onnx_model(), "safe")
    custom = helper.make_node("RunShell", ["X"], ["S"], name="evil", domain="com.evil.ops")
    b.add("onnx_custom_op.onnx", _onnx_model([custom], opsets=[helper.make_opsetid("com.evil.ops", 1)]), "unsafe",
          "onnx.custom-domain")
    b.add("onnx_nested_custom.onnx", _onnx_model(nested=helper.make_node("Exec", ["X"], ["Z"], domain="my.native")),
          "unsafe", "onnx.custom-domain")
    body = helper.make_function("local.fn", "Double", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                                [helper.make_opsetid("", 17)])
    use = helper.make_node("Double", ["Y"], ["D"], name="double", domain="local.fn")
    b.add("onnx_local_function.onnx", _onnx_model([use], functions=[body], opsets=[helper.make_opsetid("local.fn", 1)]),
          "safe")
    b.add("onnx_truncated.onnx", _onnx_model()[:-7], "error", "error.unparseable-onnx")
    b.add("onnx_external_abs.onnx", _onnx_model(external="/etc/passwd"), "unsafe", "onnx.external-data-outside")
    b.add("onnx_external_dotdot.onnx", _onnx_model(external="../../home/user/.ssh/id_rsa"), "unsafe",
          "onnx.external-data-outside")
    folder = b.root / "onnx_folder"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(np.ones((3, 2), dtype=np.float32).tobytes())
    (folder / "model.onnx").write_bytes(_onnx_model(external="weights.bin"))
    (folder / "escape.onnx").write_bytes(_onnx_model(external="link.bin"))
    (folder / "link.bin").symlink_to("/etc/hostname")
    (folder / "missing.onnx").write_bytes(_onnx_model(external="gone.bin"))
    b.add("onnx_folder/model.onnx", None, "safe", renamable=False)
    b.add("onnx_folder/weights.bin", None, "safe", "onnx.external-data", renamable=False)
    b.add("onnx_folder/escape.onnx", None, "unsafe", "onnx.external-data-outside", renamable=False)
    b.add("onnx_folder/missing.onnx", None, "error", "error.unparseable-onnx", renamable=False)


STEPS += [onnx_models]
