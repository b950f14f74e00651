"""Which pickled globals a model file may reference.

Default deny: a global is accepted only when it is in DEFAULT_ALLOWLIST or in the caller's
trusted types. Dangerous globals are rejected even when a caller trusts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TORCH_STORAGES = [
    f"torch.{kind}Storage"
    for kind in (
        "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
        "ComplexFloat", "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4",
    )
]
_TORCH_DTYPES = [
    f"torch.{name}"
    for name in (
        "float16", "float32", "float64", "bfloat16", "half", "float", "double", "int8", "int16",
        "int32", "int64", "uint8", "bool", "long", "int", "short", "complex64", "complex128",
    )
]
# Each accepted name with why loading it cannot reach code execution, files or the network.
_ACCEPTED: dict[str, str] = {
    **{name: "torch storage class: holds raw tensor bytes" for name in _TORCH_STORAGES},
    **{name: "torch dtype constant" for name in _TORCH_DTYPES},
    "torch._utils._rebuild_tensor": "rebuilds a tensor view over a storage",
    "torch._utils._rebuild_tensor_v2": "rebuilds a tensor view over a storage",
    "torch._utils._rebuild_parameter": "wraps a tensor as a Parameter",
    "torch._utils._rebuild_parameter_with_state": "wraps a tensor as a Parameter",
    "torch.storage.UntypedStorage": "storage class: raw bytes",
    "torch.storage.TypedStorage": "storage class: raw bytes",
    "torch.Size": "a tuple of ints",
    "torch.device": "a device name",
    "torch.nn.modules.container.Sequential": "module container; its state is a plain __dict__ update",
    "torch.nn.modules.container.ModuleList": "module container; its state is a plain __dict__ update",
    "torch.nn.modules.container.ModuleDict": "module container; its state is a plain __dict__ update",
    "torch.nn.modules.container.ParameterList": "parameter container; its state is a plain __dict__ update",
    "torch.nn.modules.container.ParameterDict": "parameter container; its state is a plain __dict__ update",
    "collections.OrderedDict": "a dict that keeps insertion order",
    "collections.deque": "a double-ended queue built from an iterable",
    "collections.abc.Iterable": "an abstract base class: calling it raises TypeError",
    "collections.Counter": "a dict of counts",
    "__future__.annotations": "a compiler-feature flag object, not callable",
    "datetime.datetime": "a timestamp from its packed bytes",
    "datetime.date": "a date from its packed bytes",
    "datetime.time": "a time of day from its packed bytes",
    "datetime.timedelta": "a duration",
    "datetime.timezone": "a fixed UTC offset",
    "decimal.Decimal": "a decimal number from its string",
    "fractions.Fraction": "a rational number from its string",
    "pathlib.PurePosixPath": "a path value; pure paths never touch the file system",
    "pathlib.PureWindowsPath": "a path value; pure paths never touch the file system",
    "numpy.core.multiarray._reconstruct": "allocates an empty ndarray",
    "numpy._core.multiarray._reconstruct": "allocates an empty ndarray",
    "numpy.core.multiarray.scalar": "a numpy scalar from its dtype and bytes",
    "numpy._core.multiarray.scalar": "a numpy scalar from its dtype and bytes",
    "numpy.core.numeric._frombuffer": "an ndarray over bytes",
    "numpy._core.numeric._frombuffer": "an ndarray over bytes",
    "numpy.ndarray": "the array class",
    "numpy.dtype": "a dtype from its descriptor",
    "joblib.numpy_pickle.NumpyArrayWrapper": "joblib's array header (the analyser skips its raw bytes)",
    "_codecs.encode": "encodes a string (how protocol 2 pickles bytes)",
    "copyreg._reconstructor": "object.__new__ of an already-checked class",
    "copy_reg._reconstructor": "object.__new__ of an already-checked class",
    "builtins.set": "a set from an iterable",
    "builtins.frozenset": "a frozenset from an iterable",
    "builtins.complex": "a complex number",
    "builtins.slice": "a slice object",
    "builtins.bytearray": "a byte array",
    "builtins.range": "a range object",
    "builtins.dict": "a dict from pairs or keywords",
    "builtins.len": "the length of an already-built object",
    "builtins.int": "an int from a number or a string (CPython caps digits)",
    "builtins.float": "a float from a number or a string",
    "builtins.str": "the text of an already-built object",
    "builtins.bool": "a truth value",
    "__builtin__.set": "a set from an iterable (protocol 0-2 name)",
    "__builtin__.frozenset": "a frozenset from an iterable (protocol 0-2 name)",
    "__builtin__.complex": "a complex number (protocol 0-2 name)",
    "__builtin__.slice": "a slice object (protocol 0-2 name)",
    "__builtin__.dict": "a dict (protocol 0-2 name)",
    "__builtin__.len": "a length (protocol 0-2 name)",
    "builtins.list": "a list from an iterable",
    "builtins.tuple": "a tuple from an iterable",
    "builtins.bytes": "bytes from an iterable of ints or a buffer",
    "__builtin__.list": "a list (protocol 0-2 name)",
    "__builtin__.tuple": "a tuple (protocol 0-2 name)",
    "collections.defaultdict": "a dict whose default factory is itself a checked global",
    # numpy random generators (a checkpoint's rng_state): each looks its bit generator up in
    # numpy's fixed table or calls another checked global; Cython's unpickle helper sets state.
    "numpy.random._pickle.__generator_ctor": "a Generator over a bit generator from numpy's table",
    "numpy.random._pickle.__bit_generator_ctor": "a bit generator from numpy's fixed table",
    "numpy.random._pickle.__randomstate_ctor": "a legacy RandomState from numpy's fixed table",
    "numpy.random._pcg64.PCG64": "numpy bit generator", "numpy.random._mt19937.MT19937": "numpy bit generator",
    "numpy.random._philox.Philox": "numpy bit generator", "numpy.random._sfc64.SFC64": "numpy bit generator",
    "numpy.random.bit_generator.SeedSequence": "numpy seed sequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence": "Cython's unpickle helper: a SeedSequence from its state",
}
# torch.save(model) of standard layers: torch.nn.modules.<file>.<Class>, rebuilt by NEWOBJ (object
# __new__) and a state dict through Module.__setstate__; nothing runs until the model is called.
_TORCH_LAYER = re.compile(r"^torch\.nn\.modules\.[a-z_]+\.[A-Z][A-Za-z0-9]*$")
# TorchScript pickles (only inside a TorchScript archive): the C++ unpickler maps these itself.
_TORCHSCRIPT_GLOBAL = re.compile(
    r"^(__torch__(\.[A-Za-z_][A-Za-z0-9_]*)+|torch\.jit\._pickle\.(build_[a-z]+list|build_tensor_from_id|restore_type_tag))$")


def accepted_in_context(qualified: str, torchscript: bool) -> bool:
    """Accepted by pattern rather than by name: standard torch layers, and TorchScript's globals
    inside a TorchScript archive (never a dunder chain: `__torch__` is the only dunder allowed)."""
    if _TORCH_LAYER.match(qualified):
        return True
    if not torchscript or not _TORCHSCRIPT_GLOBAL.match(qualified):
        return False
    return not any(part.startswith("__") and part.endswith("__") for part in qualified.split(".")[1:])
DEFAULT_ALLOWLIST = frozenset(_ACCEPTED)

# Modules whose types have known code-execution paths, by kind: they are dangerous, and a registry
# entry can never trust one of their names (the refusal says which kind it is).
GADGET_MODULES: dict[str, tuple[str, ...]] = {
    "a template engine (compiles and renders code)": (
        "jinja2", "mako", "django.template", "tornado.template", "chameleon", "genshi", "cheetah",
        "Cheetah"),
    "an eval-like API (evaluates expressions)": (
        "numexpr", "pandas.core.computation", "sympy", "asteval", "simpleeval", "torch._C._jit_pass",
        "torch.jit", "torch.package", "torch.fx", "tensorflow.python.ops.script_ops"),
    "an importer (imports code by name)": (
        "importlib", "pkgutil", "pydoc", "hydra", "omegaconf", "werkzeug.utils", "django.utils.module_loading",
        "transformers.dynamic_module_utils", "zipimport", "imp", "runpy"),
    "a subprocess/OS wrapper": (
        "os", "posix", "nt", "subprocess", "_posixsubprocess", "_winapi", "msvcrt", "pty", "commands",
        "popen2", "sh", "plumbum", "pexpect", "invoke", "fabric", "paramiko", "_ctypes", "cffi", "ctypes"),
    "a deserializer (loads more code)": (
        "yaml", "jsonpickle", "dill", "cloudpickle", "pickle", "_pickle", "marshal", "shelve"),
}

# Whole modules (and their submodules) whose globals give code execution, I/O or imports.
DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "socket", "shutil",
    "webbrowser", "pty", "importlib", "pkgutil", "runpy", "timeit", "pickle", "_pickle",
    "pickletools", "marshal", "dill", "cloudpickle", "joblib.numpy_pickle_utils", "ctypes",
    "code", "codeop", "pdb", "bdb", "cProfile", "profile", "trace", "asyncio", "multiprocessing",
    "threading", "_thread", "signal", "tempfile", "glob", "io", "_io", "types", "zipimport",
    "imp", "site", "ensurepip", "venv", "pip", "setuptools", "distutils", "http", "httplib",
    "urllib", "urllib2", "requests", "aiohttp", "ftplib", "smtplib", "telnetlib", "ssl",
    "select", "selectors", "mmap", "fcntl", "resource", "platform", "sysconfig", "gc",
    "inspect", "functools", "operator", "_operator", "idlelib", "lib2to3", "doctest",
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.lib.npyio", "numpy.ctypeslib",
    "torch.hub", "torch.serialization", "torch.jit", "torch.package", "torch.utils.cpp_extension",
    "pandas.io", "logging", "pydoc", "linecache", "shelve", "dbm", "sqlite3", "socketserver", "xmlrpc",
    "imaplib", "poplib", "nntplib", "smtpd", "wsgiref", "uuid", "zipfile", "tarfile", "torch.fx",
    "torch._inductor", "torch._dynamo", "torch.utils.collect_env", "torch.utils.bottleneck",
    "torch.utils.data.datapipes", "torch.utils._config_module",
    *(module for modules in GADGET_MODULES.values() for module in modules),
})
DANGEROUS_BUILTINS = frozenset({
    "eval", "exec", "execfile", "compile", "__import__", "getattr", "setattr", "delattr",
    "open", "breakpoint", "input", "globals", "locals", "vars", "apply", "help", "memoryview",
    "reload", "exit", "quit", "type", "object", "super", "classmethod", "staticmethod", "property",
})
# Final names that load, run or import something, whatever module they sit in.
DANGEROUS_NAMES = frozenset({
    "load", "loads", "_load", "_load_from_bytes", "load_model", "load_state_dict_from_url",
    "read_pickle", "unpickle", "runstring", "run", "system", "popen", "spawn", "exec", "eval",
    "execfile", "compile", "import_module", "__import__", "call", "check_output", "urlopen",
    "open", "fdopen", "urlretrieve",
})


_REASONS = {
    "malformed": "malformed {noun} name {qualified!r}",
    "dangerous": "dangerous {noun} {qualified}",
    "dunder": "attribute-chain {noun} {qualified}",
    "untrusted": "{noun} {qualified} is not allowlisted or trusted",
}


@dataclass(frozen=True)
class GlobalRuling:
    """Why an importable name is rejected; `kind` is one of _REASONS (its severity is the
    catalogue's, see rules.py)."""

    kind: str
    qualified: str
    note: str = ""

    def rule(self, prefix: str, noun: str) -> str:
        return f"{prefix}.{self.kind}-{noun}"

    def reason(self, noun: str) -> str:
        return _REASONS[self.kind].format(noun=noun, qualified=self.qualified) + self.note


def rule_global(
    module: str, name: str, trusted: frozenset[str], allowlist: frozenset[str] = DEFAULT_ALLOWLIST,
    torchscript: bool = False,
) -> GlobalRuling | None:
    """None when `module.name` is acceptable; otherwise why not. Dangerous names are rejected
    even when the caller trusts them."""
    qualified = f"{module}.{name}"
    dotted_parts = qualified.split(".")
    if not module or not name or any(not part.isidentifier() for part in dotted_parts):
        return GlobalRuling("malformed", qualified)
    if torchscript and accepted_in_context(qualified, torchscript):
        return None
    if is_dangerous(module, name):
        note = f" (trusted by the registry entry, but it is {gadget_kind(qualified)}: never trusted)" if qualified in trusted else ""
        return GlobalRuling("dangerous", qualified, note)
    if qualified in allowlist:  # exact names, a few of them dunder functions (numpy's ctor helpers)
        return None
    if any("__" in part for part in name.split(".")):
        return GlobalRuling("dunder", qualified)
    if qualified in allowlist or qualified in trusted or accepted_in_context(qualified, torchscript):
        return None
    return GlobalRuling("untrusted", qualified)


def gadget_kind(qualified: str) -> str | None:
    """Why a fully qualified type may never be trusted (None when nothing says so): every way of
    splitting it into module and name is tried, since the registry gives one dotted string."""
    parts = qualified.split(".")
    splits = [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(1, len(parts))]
    if not splits or not any(is_dangerous(module, name) for module, name in splits):
        return None
    for kind, modules in GADGET_MODULES.items():
        if any(qualified == m or qualified.startswith(m + ".") for m in modules):
            return kind
    return "a name that runs code, touches files or the network, or imports modules"


def is_dangerous(module: str, name: str) -> bool:
    """True for names that give code execution, I/O or imports."""
    root_name = name.split(".")[0]
    if module in ("builtins", "__builtin__", "__builtins__"):
        return root_name in DANGEROUS_BUILTINS
    prefixes = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)]
    if any(prefix in DANGEROUS_MODULES for prefix in prefixes):
        return True
    return name.split(".")[-1] in DANGEROUS_NAMES or root_name in DANGEROUS_NAMES
