"""Generators for the classes peers' suites caught and aisec missed or blocked wrongly (issue 12):
hidden-frame pickles, expansion bombs, impossible structures, protocol 0/1 pickles that start with
a STRING/UNICODE, odd zip flags, zips judged by member content, allowlisted harmless classes,
TensorFlow SavedModel folders and 7z. Every file is assembled from opcodes/bytes here (struct,
hand-written protobuf), never by running a payload; every payload only writes a marker file.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import pathlib
import json
import pickle
import struct
import zipfile
from pathlib import Path

import corpus_repository
import numpy as np

# -- pickle opcode assembly ------------------------------------------------------------------------


def sbu(value: str) -> bytes:
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


def binbytes(payload: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(payload)) + payload


def v0_open(marker: str) -> bytes:
    """Protocol 0: builtins.open(marker, 'w') then STOP."""
    return b"cbuiltins\nopen\n(V" + marker.encode() + b"\nVw\ntR."


def hidden_frame_pickle(marker: str) -> bytes:
    """A FRAME ends inside a BINBYTES whose bytes, read from the frame boundary, are
    GLOBAL builtins.open + REDUCE. A linear reading sees only a bytes literal."""
    head = sbu("weights")
    hidden = v0_open(marker)
    declared = len(head) + 5  # the frame ends right after BINBYTES' length field
    return b"\x80\x04" + frame(declared) + head + binbytes(hidden) + b"0" + b"."


def straddle(op: bytes, cut: int) -> bytes:
    """A frame whose declared length ends `cut` bytes into `op` (harmless content)."""
    return b"\x80\x04" + frame(cut) + op + b"."


def frame_in_frame() -> bytes:
    inner = frame(3) + b"K\x02" + b"0"
    outer_body = b"K\x01" + b"0" + inner + b"N"
    return b"\x80\x04" + frame(len(outer_body) + 1) + outer_body + b"."


def overlong_frame() -> bytes:
    return b"\x80\x04" + frame(4096) + b"J" + struct.pack("<i", 7) + b"."


def memo_self_append(gets: int) -> bytes:
    return b"\x80\x04]\x94" + b"h\x00a" * gets + b"."


def dup_run(count: int) -> bytes:
    return b"\x80\x04]" + b"2" * count + b"."


def dup_laughs(layers: int, copies: int) -> bytes:
    body = b"(" * layers + sbu("lol")
    for _ in range(layers):
        body += b"2" * copies + b"l"
    return b"\x80\x04" + body + b"."


def memo_laughs(layers: int, copies: int) -> bytes:
    body = b"(" * layers + sbu("lol")
    for index in range(layers):
        body += b"q" + bytes([index]) + (b"h" + bytes([index])) * copies + b"l"
    return b"\x80\x04" + body + b"."


def dict_own_key() -> bytes:
    return b"\x80\x04}\x94h\x00K\x01s."


def set_contains_itself() -> bytes:
    return b"\x80\x04\x8f\x94(h\x00\x90."


def list_as_key() -> bytes:
    return b"\x80\x04}]K\x01s."


def duplicate_proto() -> bytes:
    return b"\x80\x04" + sbu("a") + b"0\x80\x04K\x01."


def v0_unicode_start(marker: str) -> bytes:
    """Starts with UNICODE, no PROTO: names via memo, STACK_GLOBAL (like picklescan's malicious11)."""
    return (b"Vbuiltins\np0\n0Vopen\np1\n0Vdecoy\np2\n0g0\ng1\n\x93(V" + marker.encode()
            + b"\nVw\ntR.")


def v0_string_start(marker: str) -> bytes:
    """Starts with STRING, no PROTO (like picklescan's malicious23)."""
    return b"S'builtins'\nS'open'\n\x93(S'" + marker.encode() + b"'\nS'w'\ntR."


def indirect_call() -> bytes:
    """REDUCE on the result of a call: the callee is computed, not imported."""
    return b"\x80\x04" + sbu("collections") + sbu("OrderedDict") + b"\x93)R)R."


def bare_global(module: str, name: str) -> bytes:
    return b"\x80\x04" + sbu(module) + sbu(name) + b"\x93."


def call_global(module: str, name: str, args: bytes) -> bytes:
    return b"\x80\x04" + sbu(module) + sbu(name) + b"\x93" + args + b"R."


def joblib_nested_objects(levels: int) -> bytes:
    """joblib object arrays nested `levels` deep: each wrapper's BUILD is followed by a pickle."""
    wrapper = (b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + sbu("shape") + b"K\x01\x85"
               + sbu("dtype") + b"cnumpy\ndtype\n" + sbu("O8") + b"\x85Rub")
    stream = b"\x80\x02N."
    for _ in range(levels):
        stream = b"\x80\x02" + wrapper + stream + b"0N."
    return stream


# -- zips --------------------------------------------------------------------------------------------


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def set_member_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit on the first member, in local header and central directory."""
    raw = bytearray(data)
    raw[6] |= bit
    central = raw.find(b"PK\x01\x02")
    raw[central + 8] |= bit
    return bytes(raw)


def rename_in_local_header(data: bytes, old: bytes, new: bytes) -> bytes:
    """The local header names the member differently from the central directory."""
    assert len(old) == len(new)
    return data.replace(old, new, 1)


def unknown_compression(data: bytes) -> bytes:
    raw = bytearray(data)
    raw[8:10] = struct.pack("<H", 99)
    central = raw.find(b"PK\x01\x02")
    raw[central + 10 : central + 12] = struct.pack("<H", 99)
    return bytes(raw)


SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24)


# -- protobuf (TensorFlow SavedModel, Keras metadata) ------------------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pb_len(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def pb_int(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def node_def(name: str, op: str) -> bytes:
    return pb_len(1, name) + pb_len(2, op)


def saved_model(graph_ops: list[str], function_ops: list[str] = (), stripped: list[str] = (),
                user_metadata: list[dict] = ()) -> bytes:
    """SavedModel{schema 1, MetaGraphDef{meta_info_def{stripped_op_list}, graph_def{node, library},
    object_graph_def{nodes{user_object{identifier, metadata}}}}}."""
    op_list = b"".join(pb_len(1, pb_len(1, op)) for op in stripped)
    meta_info = pb_len(1, pb_len(1, "serve") + pb_len(2, op_list))
    function = pb_len(1, pb_len(1, "__inference_f")) + b"".join(pb_len(3, node_def(f"f{i}", op)) for i, op in enumerate(function_ops))
    graph = b"".join(pb_len(1, node_def(f"n{i}", op)) for i, op in enumerate(graph_ops))
    graph += pb_len(2, pb_len(1, function)) + pb_len(4, pb_int(1, 1987))
    objects = b"".join(pb_len(1, pb_len(4, pb_len(1, "_tf_keras_layer") + pb_len(3, json.dumps(meta))))
                       for meta in user_metadata)
    meta_graph = meta_info + pb_len(2, graph) + (pb_len(7, objects) if objects else b"")
    return pb_int(1, 1) + pb_len(2, meta_graph)


def keras_metadata(layers: list[dict]) -> bytes:
    nodes = b""
    for index, layer in enumerate(layers):
        identifier = "_tf_keras_sequential" if index == 0 else "_tf_keras_layer"
        nodes += pb_len(1, pb_int(2, index) + pb_len(3, f"root.layer-{index}") + pb_len(4, identifier)
                        + pb_len(5, json.dumps(layer)))
    return nodes


DENSE = {"class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 2}}
LAMBDA = {"class_name": "Lambda", "name": "evil",
          "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}},
                     "function_type": "lambda"}}
VARIABLES_INDEX = bytes(40) + bytes.fromhex("57fb808b247547db")


def write_saved_model(folder: Path, pb: bytes, keras: bytes | None = None, index: bytes = VARIABLES_INDEX,
                      fingerprint: bytes = pb_int(1, 12345) + pb_int(2, 678)) -> Path:
    (folder / "variables").mkdir(parents=True, exist_ok=True)
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "saved_model.pb").write_bytes(pb)
    (folder / "fingerprint.pb").write_bytes(fingerprint)
    (folder / "variables" / "variables.index").write_bytes(index)
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(np.random.default_rng(3).bytes(512))
    (folder / "assets" / "tokenizer").mkdir(exist_ok=True)
    (folder / "assets" / "tokenizer" / "vocab.txt").write_text("hello\nworld\n")
    if keras is not None:
        (folder / "keras_metadata.pb").write_bytes(keras)
    return folder


# -- harmless classes (must pass) --------------------------------------------------------------------


def allowlisted_samples() -> dict[str, bytes]:
    return {
        "deque_p4.pkl": pickle.dumps(collections.deque([1, 2, 3], maxlen=5), protocol=4),
        "deque_p2.pkl": pickle.dumps(collections.deque(["a"]), protocol=2),
        "ordered_dict_p0.pkl": pickle.dumps(collections.OrderedDict(a=1), protocol=0),
        "iterable_global.pkl": bare_global("collections.abc", "Iterable"),
        "future_annotations.pkl": b"c__future__\nannotations\n.",
        "builtins_dict_call.pkl": call_global("builtins", "dict", b")"),
        "builtins_len_call.pkl": call_global("builtins", "len", b"]\x85"),
        "v0_string.pkl": pickle.dumps("hello", protocol=0),
        "v0_list.pkl": pickle.dumps(["a", "b", "c"], protocol=0),
        "v1_dict.pkl": pickle.dumps({"a": [1, 2.5, None]}, protocol=1),
        "shared_refs.pkl": pickle.dumps(["abc"] * 10000, protocol=4),
        "shared_list.pkl": pickle.dumps({f"k{i}": list(range(100)) for i in range(3)} | {"same": [[0] * 1000] * 50}, protocol=4),
        "self_list.pkl": _self_list(),
        "framed_large.pkl": pickle.dumps({"k": list(range(50000)), "b": b"x" * 200000, "s": "y" * 70000}, protocol=5),
        "frozenset_key.pkl": pickle.dumps({frozenset([1, 2]): "a", (1, 2): "b"}, protocol=4),
        "stdlib_values.pkl": pickle.dumps([datetime.datetime(2024, 1, 2, 3, 4), datetime.timedelta(days=2), decimal.Decimal("1.5"),
                                           fractions.Fraction(1, 3), collections.Counter("abca"), pathlib.PurePosixPath("/m")], protocol=4),
    }


def _self_list() -> bytes:
    looped: list = [1]
    looped.append(looped)
    return pickle.dumps(looped, protocol=4)


# -- corpus steps (each adds samples to a CorpusBuilder under its own group) -------------------------


def frames(b) -> None:
    b.add("frame_hidden_global.pkl", hidden_frame_pickle(b.marker("frame")), "unsafe", "pickle.frame-mismatch")
    b.add("frame_straddle_binbytes.pkl", straddle(binbytes(b"harmless bytes"), 3), "unsafe", "pickle.frame-mismatch")
    b.add("frame_straddle_binint.pkl", straddle(b"J" + struct.pack("<i", 7), 2), "unsafe", "pickle.frame-mismatch")
    b.add("frame_straddle_short_unicode.pkl", straddle(sbu("hello"), 4), "unsafe", "pickle.frame-mismatch")
    b.add("frame_straddle_unicode.pkl", straddle(b"Vhello\n", 3), "unsafe", "pickle.frame-mismatch")
    b.add("frame_in_frame.pkl", frame_in_frame(), "unsafe", "pickle.frame-mismatch")
    b.add("frame_overlong.pkl", overlong_frame(), "unsafe", "pickle.frame-mismatch")


def bombs(b) -> None:
    b.add("memo_self_append_60.pkl", memo_self_append(60), "unsafe", "pickle.expansion-bomb")
    b.add("memo_self_append_200.pkl", memo_self_append(200), "unsafe", "pickle.expansion-bomb")
    b.add("dup_150.pkl", dup_run(150), "unsafe", "pickle.expansion-bomb")
    b.add("dup_laughs_9x9.pkl", dup_laughs(9, 9), "unsafe", "pickle.expansion-bomb")
    b.add("memo_laughs_10x9.pkl", memo_laughs(10, 9), "unsafe", "pickle.expansion-bomb")


def structures(b) -> None:
    b.add("dict_own_key.pkl", dict_own_key(), "unsafe", "pickle.impossible-structure")
    b.add("set_contains_itself.pkl", set_contains_itself(), "unsafe", "pickle.impossible-structure")
    b.add("list_as_key.pkl", list_as_key(), "unsafe", "pickle.impossible-structure")
    b.add("duplicate_proto.pkl", duplicate_proto(), "unsafe", "pickle.duplicate-proto")
    b.add("indirect_call.pkl", indirect_call(), "unsafe", "pickle.indirect-call")
    b.add("malformed_global.pkl", bare_global("my module", "x"), "unsafe", "pickle.malformed-global")
    b.add("stack_underflow.pkl", b"\x80\x04R.", "unsafe", "error.malformed-pickle")
    b.add("bad_opcode.pkl", b"\x80\x04K\x01\xff.", "error", "error.unparseable-pickle")
    b.add("joblib_nested_9.pkl", joblib_nested_objects(9), "unsafe", "pickle.nesting-too-deep")
    unclear = b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}bN."
    b.add("joblib_unclear_array.pkl", unclear, "error", "error.unresolvable-array")


def protocols(b) -> None:
    from corpus import Payload

    b.add("v0_unicode_start.pkl", v0_unicode_start(b.marker("v0u")), "unsafe", "pickle.dangerous-global")
    b.add("v0_string_start.pkl", v0_string_start(b.marker("v0s")), "unsafe", "pickle.dangerous-global")
    b.add("v0_unicode_trailing.pkl", v0_unicode_start(b.marker("v0t")) + b"\n\n\t\t", "unsafe", "pickle.dangerous-global")
    b.add("v1_payload.pkl", pickle.dumps(Payload(open, b.marker("v1"), "w"), protocol=1), "unsafe", "pickle.dangerous-global")
    b.add("v0_payload.bin", pickle.dumps(Payload(open, b.marker("v0"), "w"), protocol=0), "unsafe", "pickle.dangerous-global")
    garbage = v0_open(b.marker("garbage"))[:-1] + b"\xff\xfe not a pickle any more"
    b.add("v0_payload_then_garbage.pkl", garbage, "unsafe", "pickle.dangerous-global")  # the call runs before the garbage
    proto1 = b"\x80\x01" + pickle.dumps(Payload(open, b.marker("p1"), "w"), protocol=1)
    b.add("proto1_header.pkl", proto1, "unsafe", "pickle.dangerous-global")  # PROTO 0/1 is accepted by the unpickler


def allowlisted(b) -> None:
    for name, data in allowlisted_samples().items():
        b.add(name, data, "safe")
    import torch

    containers = torch.nn.ModuleDict({"seq": torch.nn.Sequential(torch.nn.ReLU()), "list": torch.nn.ModuleList()})
    params = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2))})
    for name, module in (("parameter_dict.pt", params), ("parameter_list.pt", torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(3))]))):
        torch.save(module, b.root / name)
        b.add(name, None, "safe", trusted=())
    del containers


def member_zips(b) -> None:
    from corpus import benign_pickle, call_stack_global

    evil = call_stack_global("builtins", "open", b.marker("zipflag"), "w")
    b.add("zip_0x20_evil.zip", set_member_flag(zip_bytes([("data.pkl", evil)]), 0x20), "unsafe", "pickle.dangerous-global")
    b.add("zip_0x40_evil.zip", set_member_flag(zip_bytes([("archive/data.pkl", evil)]), 0x40), "unsafe", "pickle.dangerous-global")
    b.add("zip_0x20_benign.zip", set_member_flag(zip_bytes([("data.pkl", benign_pickle())]), 0x20), "unsafe", "zip.unusual-flags")
    readme = [("README.md", b"# Model\n\nTrained on public data. Load with pickle.\n"), ("model.pkl", benign_pickle())]
    b.add("zip_readme_benign.zip", zip_bytes(readme), "safe", "repo.text")
    b.add("zip_benign_pickle_named.zip", zip_bytes([("weights.bin", benign_pickle()), ("notes.txt", b"v1\n")]), "safe")
    vocab = b"cat\ndog\nNone\nindia\nindonesia\n"  # lines that start like opcodes, then stop parsing
    b.add("zip_vocab_text.zip", zip_bytes([("vocab.txt", vocab), ("weights.pkl", benign_pickle())]), "safe", "repo.text")
    b.add("zip_text_named_evil.zip", zip_bytes([("data.txt", evil)]), "unsafe", "pickle.dangerous-global")
    mismatch = rename_in_local_header(zip_bytes([("data.pkl", evil)]), b"data.pkl", b"datap.kl")
    b.add("zip_header_mismatch.zip", mismatch, "unsafe", "zip.bad-header")
    b.add("zip_unknown_method.zip", unknown_compression(zip_bytes([("data.pkl", benign_pickle())])), "error", "error.unreadable-member")
    b.add("not_a_zip.zip", b"PK\x03\x04" + bytes(60), "error", "error.unparseable-archive")
    # a 7z signature over bytes that are no 7z archive: no unpacker reads it (real 7z: corpus_repository)
    b.add("evil.7z", SEVEN_ZIP + v0_open(b.marker("7z")), "error", "error.unparseable-archive")
    b.add("gguf_in_zip.zip", zip_bytes([("model.gguf", b"GGUF" + bytes(28))]), "error", "error.unsupported-nesting")
    from corpus import _h5_bytes

    keras = [("metadata.json", b"{}"), ("config.json", b"{not json"), ("model.weights.h5", _h5_bytes(b.root / "w.tmp", None))]
    b.add("keras_bad_config.keras", zip_bytes(keras), "error", "error.unparseable-config")


def saved_models(b) -> None:
    plain_ops = ["Const", "VarHandleOp", "ReadVariableOp", "Identity", "SaveV2", "RestoreV2", "MergeV2Checkpoints",
                 "StatefulPartitionedCall", "NoOp", "MatMul", "StringJoin", "ShardedFilename"]
    plain = write_saved_model(b.root / "sm_plain", saved_model(plain_ops, ["MatMul"], plain_ops, [DENSE]),
                              keras_metadata([{"class_name": "Sequential", "name": "m", "config": {"layers": [DENSE]}}, DENSE]))
    for path in sorted(p for p in plain.rglob("*") if p.is_file()):
        b.add(str(path.relative_to(b.root)), None, "safe", renamable=path.name in ("saved_model.pb", "keras_metadata.pb"))
    cases = {
        "sm_readfile": (saved_model(plain_ops + ["ReadFile"]), "savedmodel.dangerous-op"),
        "sm_pyfunc_in_function": (saved_model(plain_ops, ["EagerPyFunc"]), "savedmodel.dangerous-op"),
        "sm_writefile_stripped": (saved_model(plain_ops, [], ["WriteFile", "Const"]), "savedmodel.dangerous-op"),
        "sm_lambda_object_graph": (saved_model(plain_ops, [], [], [LAMBDA]), "keras.lambda-layer"),
    }
    for folder, (pb, rule) in cases.items():
        write_saved_model(b.root / folder, pb)
        b.add(f"{folder}/saved_model.pb", None, "unsafe", rule)
    write_saved_model(b.root / "sm_keras_lambda", saved_model(plain_ops), keras_metadata([DENSE, LAMBDA]))
    b.add("sm_keras_lambda/keras_metadata.pb", None, "unsafe", "keras.lambda-layer")
    write_saved_model(b.root / "sm_bad_index", saved_model(plain_ops), index=b"not a table")
    b.add("sm_bad_index/variables/variables.index", None, "error", "error.unparseable-index", renamable=False)
    write_saved_model(b.root / "sm_bad_fingerprint", saved_model(plain_ops), fingerprint=b"\x0a\xff\xff\x01")
    b.add("sm_bad_fingerprint/fingerprint.pb", None, "error", "error.unparseable-protobuf", renamable=False)
    odd = write_saved_model(b.root / "sm_pickle_like_variables", saved_model(plain_ops))
    (odd / "variables" / "variables.data-00000-of-00001").write_bytes(b"\x80\x02" + bytes(range(256)) * 4)
    b.add("sm_pickle_like_variables/variables/variables.data-00000-of-00001", None, "safe", renamable=False)
    b.add("sm_truncated.pb", saved_model(plain_ops)[:-3], "error", "error.unparseable-protobuf")


def coverage(b) -> None:
    """Files for rules no other group reaches."""
    import os

    from corpus import _h5_bytes

    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 0)
    b.add("npy_bad_header.npy", header, "unsafe", "numpy.bad-header")
    b.add("npy_version9.npy", b"\x93NUMPY\x09\x00" + bytes(16), "error", "error.unparseable-npy")
    b.add("hdf5_garbage.h5", b"\x89HDF\r\n\x1a\n" + bytes(64), "error", "error.engine-failed")
    b.add("weights_only.h5", _h5_bytes(b.root / "weights_only.tmp", None), "safe", "hdf5.no-model-config")
    legacy = (b.root / "legacy.pt").read_bytes()
    b.add("legacy_truncated.pt", legacy[:-10], "error", "error.truncated-file")
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    fake = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2) + pickle.dumps({}, protocol=2) + pickle.dumps(["k"], protocol=2)
    b.add("legacy_unknown_keys.pt", fake, "error", "error.unresolvable-storage")
    target = b.root / "weights_only.h5"
    os.symlink(target, b.root / "link.h5")
    b.add("link.h5", None, "error", "error.not-scanned", renamable=False)


def safetensors_extra(b) -> None:
    def lying(header: dict, data: bytes) -> bytes:
        raw = json.dumps(header).encode()
        return struct.pack("<Q", len(raw)) + raw + data

    data = np.arange(8, dtype=np.float32).tobytes()
    entry = {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}
    b.add("st_bad_entry.safetensors", lying({"w": {"dtype": "X9", "shape": [8]}}, data), "unsafe", "safetensors.bad-entry")
    b.add("st_trailing.safetensors", lying({"w": entry}, data + b"\x00" * 16), "unsafe", "safetensors.trailing-data")


def skops_files(b) -> None:
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    model = LogisticRegression().fit(rng.random((20, 3)), np.arange(20) % 2)
    skops.io.dump(model, b.root / "model.skops")
    b.add("model.skops", None, "unsafe", "skops.untrusted-type")
    edits = {
        "skops_malformed.skops": ({"__class__": 5, "__module__": "builtins", "__loader__": "ObjectNode"}, "skops.malformed-type"),
        "skops_dangerous.skops": ({"__class__": "system", "__module__": "os", "__loader__": "TypeNode", "__id__": 99}, "skops.dangerous-type"),
        "skops_dunder.skops": ({"__class__": "print.__self__", "__module__": "builtins", "__loader__": "TypeNode", "__id__": 98}, "skops.dunder-type"),
    }
    for name, (node, rule) in edits.items():
        _skops_with_param(b.root / "model.skops", b.root / name, node)
        b.add(name, None, "unsafe", rule)


def _skops_with_param(source: Path, target: Path, node: dict) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["C"] = node
                data = json.dumps(schema).encode()
            new.writestr(info.filename, data)


STEPS = [frames, bombs, structures, protocols, allowlisted, member_zips, saved_models, coverage, safetensors_extra, skops_files,
         *corpus_repository.STEPS]
