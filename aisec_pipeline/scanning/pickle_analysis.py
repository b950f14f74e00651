"""Opcode-level pickle analyser: walks `pickletools.genops` with a symbolic stack, never unpickles.

The symbolic stack resolves STACK_GLOBAL operands through the memo, sees what REDUCE/NEWOBJ/OBJ/
INST/BUILD apply to, and knows where joblib put raw array bytes inside the stream (right after
the BUILD of a NumpyArrayWrapper), so the walk skips exactly those bytes and keeps analysing the
opcodes that follow. Values it does not need stay `UNKNOWN`; containers are tracked up to a cap.

It also reads what the unpickler would and a linear scan would not: FRAME boundaries that cut an
opcode (the bytes from the boundary are re-read as opcodes), memo/DUP expansion ("billion
laughs"), structures no unpickler can build (a dict as its own key, a set inside itself), and a
PROTO after the start. Pickles of every protocol are recognised by content (`looks_like_pickle`).
"""

from __future__ import annotations

import math
import pickletools
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .context import ScanContext, inner
from .pickle_policy import DEFAULT_ALLOWLIST, rule_global
from .streams import SkippedBytes, skip_forward

ENGINE = "aisec"
MAX_TRACKED_ITEMS = 100_000
MAX_NESTING = 8
# Objects a loader would materialise if every memo reference and DUP were a copy: billions from a
# few hundred bytes is the "billion laughs" shape. Real checkpoints share tensors, not trees.
EXPANSION_LIMIT = 10_000_000
EXPANSION_PER_OPCODE = 10_000  # ... and far beyond what the stream's own size explains
WEIGHT_CEILING = 1 << 62
# CPython's pickler never writes DUP; a long run of them only serves to multiply references.
DUP_LIMIT = 64
MAX_WEIGHED = 1_000_000  # containers whose expansion is tracked (memory bound)
SHADOW_WALKS = 4  # re-reads from a frame boundary per stream
JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
_PICKLE_PROTOCOLS = {bytes([0x80, n]) for n in range(0, 6)}  # the unpickler accepts PROTO 0-5
_LITERAL_OPS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT",
}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
Ranges = list[tuple[int, int]]  # byte ranges [start, end) of one pickle stream's opcodes


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MARK = _Marker("MARK")
UNKNOWN = _Marker("UNKNOWN")


class SymSet(list):
    """A set under construction (EMPTY_SET/ADDITEMS): unhashable, unlike the FROZENSET tuple."""


@dataclass(frozen=True)
class Global:
    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Call:
    """The result of calling `func` (REDUCE, NEWOBJ, OBJ, INST); `state` is set by BUILD."""

    func: Any
    args: Any
    state: Any = None


@dataclass(eq=False)
class PersistentRef:
    pid: Any


@dataclass
class StreamWalk:
    """One pickle stream: its opcode byte ranges (`segments`, split around joblib's raw array
    bytes) and the ranges of the separate streams nested in it (joblib object arrays).

    Each stream has its own memo, so engines must see each one on its own: spliced into one,
    a nested stream's memo indices would resolve against the outer stream's memo.
    """

    value: Any = UNKNOWN
    complete: bool = False
    segments: Ranges = field(default_factory=list)
    nested: list[Ranges] = field(default_factory=list)
    persistent_ids: list[Any] = field(default_factory=list)

    def streams(self) -> list[Ranges]:
        """This stream's ranges, then each nested stream's, each a separate memo scope."""
        return [self.segments, *self.nested]


class WalkStopped(Exception):
    """The stream cannot be followed further (its reason is already a finding)."""


_PROTO_BYTE = 0x80
_IMPORT_OPS = frozenset({"GLOBAL", "INST"})
_CALL_OPS = frozenset({"REDUCE", "OBJ", "INST", "NEWOBJ", "NEWOBJ_EX", "BUILD"})
_MIN_OPS_WHEN_CUT = 3


def looks_like_pickle(head: bytes, complete: bool = False) -> bool:
    """Pickles of every protocol, recognised by content: protocol 2+ starts with PROTO; protocols
    0/1 start with any opcode (a STRING or UNICODE, a MARK, a GLOBAL...) and must then parse as
    opcodes up to a STOP or an import of a well-formed name, or (when `head` is only the start of
    a longer content) parse without error until the window runs out. `complete` says `head` is
    the whole content. Text fails quickly: most letters are opcodes whose arguments do not parse."""
    if not head or head[0] not in _OPCODE_BYTES:
        return False
    if head[0] == _PROTO_BYTE:
        return head[:2] in _PICKLE_PROTOCOLS
    return _parses(head, complete)


def _parses(head: bytes, complete: bool) -> bool:
    import io

    count, imported, called = 0, False, False
    depth = _StackDepth()
    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(head)):
            count += 1
            if not depth.apply(opcode):
                return called  # an opcode the unpickler would refuse: text, unless a call already ran
            if opcode.name in _IMPORT_OPS and all(_dotted(part) for part in str(arg).split(" ", 1)):
                imported = True
            called = called or (imported and opcode.name in _CALL_OPS)
    except ValueError as exc:
        ran_out = "exhausted" in str(exc) or "but only" in str(exc)
        # An import then a call runs before any later garbage is read; an import followed by an
        # impossible opcode is a text line ("cat\ndog\n..."), not a pickle.
        return called or (ran_out and (imported or (not complete and count >= _MIN_OPS_WHEN_CUT)))
    return True  # reached STOP


class _StackDepth:
    """How many items and marks the unpickler's stack holds: text read as opcodes soon pops
    from an empty stack or closes a MARK that was never opened."""

    def __init__(self) -> None:
        self.items = 0
        self.marks: list[int] = []

    def apply(self, opcode: pickletools.OpcodeInfo) -> bool:
        before = list(opcode.stack_before)
        if pickletools.markobject in before:
            if not self.marks:
                return False
            self.items = self.marks.pop()
            before = before[: before.index(pickletools.markobject)]
        self.items -= len(before)
        if self.items < 0:
            return False
        if opcode.stack_after == [pickletools.markobject]:
            self.marks.append(self.items)
        else:
            self.items += len(opcode.stack_after)
        return True


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


_OPCODE_BYTES = frozenset(ord(op.code) for op in pickletools.opcodes)


class PickleWalker:
    """Walks one pickle stream at a time from a reader positioned at its first opcode.

    Besides the symbolic stack it follows what the unpickler would: frame boundaries (a FRAME
    whose length does not end on an opcode boundary is a finding, and the bytes from the boundary
    are re-read as opcodes, since that is where a frame-honouring reader resumes), and how far
    memo references and DUPs would expand the loaded object graph.
    """

    def __init__(self, ctx: ScanContext, label: str, depth: int = 0, shadow: bool = False) -> None:
        self.ctx = ctx
        self.label = label
        self.depth = depth
        self.shadow = shadow  # a re-read from a frame boundary: no further re-reads
        self.stack: list[Any] = []
        self.memo: dict[Any, Any] = {}
        self.walk = StreamWalk()
        self.reader: BinaryIO | None = None
        self.segment_start = 0
        self.opcodes = 0
        self.dups = 0
        self.frame_end: int | None = None
        self.shadow_walks = 0
        self.weights: dict[int, tuple[Any, int]] = {}  # id -> (object kept alive, expanded size)
        self.expansion_reported = False
        self.handlers = {op.name: getattr(self, f"_op_{op.name}", None) for op in pickletools.opcodes}

    def run(self, reader: BinaryIO) -> StreamWalk:
        self.reader = reader
        self.segment_start = reader.tell()
        try:
            self._consume(reader)
        except WalkStopped:
            pass
        except ValueError as exc:
            self._report_parse_error(exc)
        self.walk.segments.append((self.segment_start, reader.tell()))
        return self.walk

    def _consume(self, reader: BinaryIO) -> None:
        handlers = self.handlers
        for opcode, arg, pos in pickletools.genops(reader):
            self.opcodes += 1
            if self.frame_end is not None and pos >= self.frame_end:
                self._leave_frame(pos)
            name = opcode.name
            handler = handlers[name]
            if handler is not None:
                handler(arg)
            elif name in _LITERAL_OPS:
                self.stack.append(arg)
            elif name in _CONSTANTS:
                self.stack.append(_CONSTANTS[name])
            else:
                self._generic(opcode)
            if name == "STOP":
                self.walk.complete = True
                self._check_frame_at_stop(reader.tell())

    # -- frames ----------------------------------------------------------------------------------
    def _op_FRAME(self, length: int) -> None:
        assert self.reader is not None
        start = self.reader.tell()
        if self.frame_end is not None:
            self._frame_mismatch(f"a FRAME at offset {start - 9} opens inside the frame ending at {self.frame_end}")
        self.frame_end = start + length  # a frame longer than the stream shows at STOP (or as truncation)

    def _leave_frame(self, pos: int) -> None:
        end, self.frame_end = self.frame_end, None
        assert end is not None
        if pos > end:
            self._frame_mismatch(f"the opcode before offset {pos} runs past the frame ending at {end}")
            self._reread_from(end)

    def _check_frame_at_stop(self, stop_end: int) -> None:
        if self.frame_end is not None and self.frame_end != stop_end:
            self._frame_mismatch(f"the stream stops at offset {stop_end} inside a frame ending at {self.frame_end}")
        self.frame_end = None

    def _frame_mismatch(self, detail: str) -> None:
        self.ctx.flag("pickle.frame-mismatch", f"{detail}: the unpickler and a linear reading disagree", self.label)

    def _reread_from(self, offset: int) -> None:
        """Walk the bytes from a frame boundary as opcodes: what a frame-honouring reader sees.
        Only its blocking findings count (the bytes are not expected to form a clean stream)."""
        if self.shadow or self.shadow_walks >= SHADOW_WALKS or self.reader is None:
            return
        self.shadow_walks += 1
        from .context import ScanContext

        shadow_ctx = ScanContext(trusted_types=self.ctx.trusted_types)
        resume = self.reader.tell()
        self.reader.seek(offset)
        PickleWalker(shadow_ctx, self.label, self.depth, shadow=True).run(self.reader)
        self.reader.seek(resume)
        for finding in shadow_ctx.findings:
            if finding.severity in ("critical", "high") and not finding.is_error:
                detail = f"{finding.detail} (in the bytes read from the frame boundary at offset {offset})"
                self.ctx.add(finding.engine, finding.severity, finding.rule, detail)

    # -- structure -------------------------------------------------------------------------------
    def _op_PROTO(self, version: int) -> None:
        if self.opcodes > 1:
            self.ctx.flag("pickle.duplicate-proto", f"PROTO {version} after {self.opcodes - 1} opcodes", self.label)

    def _weight(self, value: Any) -> int:
        entry = self.weights.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else 1

    def _weigh(self, value: Any, size: int) -> Any:
        """Record how many objects loading `value` materialises (memo references counted as copies)."""
        size = min(size, WEIGHT_CEILING)
        if len(self.weights) < MAX_WEIGHED or id(value) in self.weights:
            self.weights[id(value)] = (value, size)
        if size > EXPANSION_LIMIT and size > EXPANSION_PER_OPCODE * self.opcodes and not self.expansion_reported:
            self.expansion_reported = True
            self.ctx.flag("pickle.expansion-bomb",
                          f"memo references expand the stream to more than {EXPANSION_LIMIT:,} objects on load "
                          f"(after {self.opcodes} opcodes)", self.label)
        return value

    def _grow(self, target: Any, items: list[Any]) -> None:
        if isinstance(target, (list, dict, Call)):
            self._weigh(target, self._weight(target) + sum(map(self._weight, items)))

    def _built(self, value: Any, items: Any) -> Any:
        return self._weigh(value, 1 + sum(map(self._weight, items)))

    def _impossible(self, detail: str) -> None:
        self.ctx.flag("pickle.impossible-structure", f"{detail}: no unpickler can build it", self.label)

    def _check_keys(self, target: Any, keys: list[Any], what: str) -> None:
        for key in keys:
            if target is not None and key is target:
                self._impossible(f"a {what} contains itself as a {'key' if what == 'dict' else 'member'}")
            elif isinstance(key, (list, dict)):
                self._impossible(f"a {what} {'key' if what == 'dict' else 'member'} is an unhashable {type(key).__name__}")

    def _report_parse_error(self, exc: ValueError) -> None:
        message = str(exc)
        if "exhausted" in message or "but only" in message:
            self.ctx.error(ENGINE, "truncated-pickle", f"pickle ends before STOP ({message})", self.label)
        else:
            self.ctx.error(ENGINE, "unparseable-pickle", message, self.label)

    # -- stack helpers -------------------------------------------------------------------------
    def _pop(self) -> Any:
        if not self.stack:
            self.ctx.error(ENGINE, "malformed-pickle", "stack underflow", self.label)
            return UNKNOWN
        return self.stack.pop()

    def _pop_mark(self) -> list[Any]:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is MARK:
                items = self.stack[index + 1 :]
                del self.stack[index:]
                return items
        self.ctx.error(ENGINE, "malformed-pickle", "no MARK on the stack", self.label)
        items, self.stack = self.stack, []
        return items

    def _top(self) -> Any:
        return self.stack[-1] if self.stack else UNKNOWN

    def _generic(self, opcode: pickletools.OpcodeInfo) -> None:
        """Ops that need no modelling: apply their stack effect with unknown results."""
        before = list(opcode.stack_before)
        if pickletools.markobject in before:
            self._pop_mark()
            before = before[: before.index(pickletools.markobject)]
        for _ in before:
            self._pop()
        self.stack.extend(UNKNOWN for _ in opcode.stack_after)

    # -- globals and calls ---------------------------------------------------------------------
    def _global(self, module: Any, name: Any, opname: str) -> Any:
        if not isinstance(module, str) or not isinstance(name, str) or isinstance(module, SkippedBytes):
            self.ctx.flag("pickle.unresolved-global", f"{opname} operands are not plain strings ({module!r}, {name!r})", self.label)
            return UNKNOWN
        ruling = rule_global(module, name, self.ctx.trusted_types, torchscript=self.ctx.torchscript)
        qualified = f"{module}.{name}"
        if ruling is not None:
            self.ctx.flag(ruling.rule("pickle", "global"), f"{ruling.reason('global')} ({opname})",
                         self.label)
        elif qualified not in DEFAULT_ALLOWLIST and qualified in self.ctx.trusted_types:
            self.ctx.trusted_types_used.add(qualified)
        return Global(module, name)

    def _call(self, func: Any, args: Any, opname: str) -> None:
        if not isinstance(func, Global):
            self.ctx.flag("pickle.indirect-call", f"{opname} calls a computed object, not an importable name", self.label)
        self.stack.append(self._weigh(Call(func, args), 1 + self._weight(args)))

    def _op_GLOBAL(self, arg: str) -> None:
        module, _, name = arg.partition(" ")
        self.stack.append(self._global(module, name, "GLOBAL"))

    def _op_STACK_GLOBAL(self, _arg: Any) -> None:
        name = self._pop()
        module = self._pop()
        self.stack.append(self._global(module, name, "STACK_GLOBAL"))

    def _op_INST(self, arg: str) -> None:
        module, _, name = arg.partition(" ")
        args = self._pop_mark()
        self._call(self._global(module, name, "INST"), tuple(args), "INST")

    def _op_OBJ(self, _arg: Any) -> None:
        items = self._pop_mark()
        self._call(items[0] if items else UNKNOWN, tuple(items[1:]), "OBJ")

    def _op_REDUCE(self, _arg: Any) -> None:
        args = self._pop()
        self._call(self._pop(), args, "REDUCE")

    def _op_NEWOBJ(self, _arg: Any) -> None:
        args = self._pop()
        self._call(self._pop(), args, "NEWOBJ")

    def _op_NEWOBJ_EX(self, _arg: Any) -> None:
        self._pop()
        args = self._pop()
        self._call(self._pop(), args, "NEWOBJ_EX")

    def _op_BUILD(self, _arg: Any) -> None:
        state = self._pop()
        target = self._top()
        if isinstance(target, Global):
            self.ctx.flag("pickle.build-on-global", f"BUILD sets attributes on {target.qualified}", self.label)
        elif isinstance(target, Call):
            target.state = state
            self._grow(target, [state])
            if isinstance(target.func, Global) and target.func.qualified == JOBLIB_WRAPPER:
                self._skip_joblib_array(state)
        elif target is not UNKNOWN:
            self.ctx.flag("pickle.indirect-call", "BUILD on a non-object", self.label)

    def _ext(self, _arg: Any) -> None:
        self.ctx.flag("pickle.extension-registry", "EXT opcode calls whatever the copyreg extension registry holds", self.label)
        self.stack.append(UNKNOWN)

    _op_EXT1 = _op_EXT2 = _op_EXT4 = _ext

    def _persistent(self, pid: Any) -> None:
        self.walk.persistent_ids.append(pid)
        self.stack.append(PersistentRef(pid))

    def _op_PERSID(self, arg: str) -> None:
        self._persistent(arg)

    def _op_BINPERSID(self, _arg: Any) -> None:
        self._persistent(self._pop())

    # -- containers, memo, stack ---------------------------------------------------------------
    def _op_MARK(self, _arg: Any) -> None:
        self.stack.append(MARK)

    def _op_STOP(self, _arg: Any) -> None:
        self.walk.value = self._pop()

    def _op_POP(self, _arg: Any) -> None:
        self._pop()

    def _op_POP_MARK(self, _arg: Any) -> None:
        self._pop_mark()

    def _op_DUP(self, _arg: Any) -> None:
        self.dups += 1
        if self.dups == DUP_LIMIT + 1:
            self.ctx.flag("pickle.expansion-bomb", f"more than {DUP_LIMIT} DUP opcodes multiply references "
                          "(no standard pickler writes DUP)", self.label)
        self.stack.append(self._top())

    def _op_EMPTY_TUPLE(self, _arg: Any) -> None:
        self.stack.append(())

    def _op_EMPTY_LIST(self, _arg: Any) -> None:
        self.stack.append([])

    def _op_EMPTY_DICT(self, _arg: Any) -> None:
        self.stack.append({})

    def _op_EMPTY_SET(self, _arg: Any) -> None:
        self.stack.append(SymSet())

    def _op_TUPLE(self, _arg: Any) -> None:
        items = self._pop_mark()
        self.stack.append(self._built(tuple(items), items))

    def _tuple_n(self, count: int) -> None:
        items = [self._pop() for _ in range(count)][::-1]
        self.stack.append(self._built(tuple(items), items))

    def _op_TUPLE1(self, _arg: Any) -> None:
        self._tuple_n(1)

    def _op_TUPLE2(self, _arg: Any) -> None:
        self._tuple_n(2)

    def _op_TUPLE3(self, _arg: Any) -> None:
        self._tuple_n(3)

    def _op_LIST(self, _arg: Any) -> None:
        items = self._pop_mark()
        self.stack.append(self._built(items[:MAX_TRACKED_ITEMS], items))

    def _op_FROZENSET(self, _arg: Any) -> None:
        items = self._pop_mark()
        self._check_keys(None, items, "frozenset")
        self.stack.append(self._built(tuple(items[:MAX_TRACKED_ITEMS]), items))

    def _op_DICT(self, _arg: Any) -> None:
        items = self._pop_mark()
        self._check_keys(None, items[::2], "dict")
        self.stack.append(self._built(_pairs_to_dict({}, items), items))

    def _op_APPEND(self, _arg: Any) -> None:
        self._extend_top([self._pop()])

    def _op_APPENDS(self, _arg: Any) -> None:
        self._extend_top(self._pop_mark())

    def _op_ADDITEMS(self, _arg: Any) -> None:
        items = self._pop_mark()
        self._check_keys(self._top(), items, "set")
        self._extend_top(items)

    def _extend_top(self, items: list[Any]) -> None:
        target = self._top()
        self._grow(target, items)
        if isinstance(target, list) and len(target) < MAX_TRACKED_ITEMS:
            target.extend(items[: MAX_TRACKED_ITEMS - len(target)])

    def _op_SETITEM(self, _arg: Any) -> None:
        value = self._pop()
        key = self._pop()
        self._update_top([key, value])

    def _op_SETITEMS(self, _arg: Any) -> None:
        self._update_top(self._pop_mark())

    def _update_top(self, pairs: list[Any]) -> None:
        target = self._top()
        self._grow(target, pairs)
        if isinstance(target, dict):
            self._check_keys(target, pairs[::2], "dict")
            if len(target) < MAX_TRACKED_ITEMS:
                _pairs_to_dict(target, pairs)

    def _put(self, key: Any) -> None:
        if len(self.memo) < 10 * MAX_TRACKED_ITEMS:
            self.memo[key] = self._top()

    def _op_PUT(self, arg: int) -> None:
        self._put(arg)

    _op_BINPUT = _op_LONG_BINPUT = _op_PUT

    def _op_MEMOIZE(self, _arg: Any) -> None:
        self._put(len(self.memo))

    def _op_GET(self, arg: int) -> None:
        self.stack.append(self.memo.get(arg, UNKNOWN))

    _op_BINGET = _op_LONG_BINGET = _op_GET

    # -- joblib ----------------------------------------------------------------------------------
    def _skip_joblib_array(self, state: Any) -> None:
        """joblib writes the array's bytes (or a nested pickle) right after this BUILD."""
        layout = _joblib_layout(state)
        if layout is None:
            self.ctx.error(ENGINE, "unresolvable-array",
                           "cannot tell the size of a joblib array, so the rest of the stream cannot be followed", self.label)
            raise WalkStopped
        assert self.reader is not None
        reader = self.reader
        if self.frame_end is not None:  # joblib commits the frame before writing raw bytes
            if self.frame_end != reader.tell():
                self._frame_mismatch(f"joblib array bytes start at {reader.tell()} inside a frame ending at {self.frame_end}")
            self.frame_end = None
        self.walk.segments.append((self.segment_start, reader.tell()))
        count, itemsize, has_object, aligned = layout
        if has_object:
            self._walk_nested(reader)
        else:
            padding = reader.read(1) if aligned else b"\x00"
            wanted = padding[0] + count * itemsize if padding else count * itemsize + 1
            if not padding or skip_forward(reader, wanted) < wanted:
                self.ctx.error(ENGINE, "truncated-pickle", "joblib array data is cut short", self.label)
                raise WalkStopped
        self.segment_start = reader.tell()

    def _walk_nested(self, reader: BinaryIO) -> None:
        if self.depth >= MAX_NESTING:
            self.ctx.flag("pickle.nesting-too-deep", f"nested pickles deeper than {MAX_NESTING}", self.label)
            raise WalkStopped
        nested = PickleWalker(self.ctx, inner(self.label, "object array"), self.depth + 1).run(reader)
        self.walk.nested.extend(nested.streams())
        self.walk.persistent_ids.extend(nested.persistent_ids)
        if not nested.complete:
            raise WalkStopped


def _pairs_to_dict(target: dict[Any, Any], items: list[Any]) -> dict[Any, Any]:
    for key, value in zip(items[::2], items[1::2]):
        try:
            target[key] = value
        except TypeError:  # unhashable symbolic key: not needed for analysis
            pass
    return target


_DESCR = re.compile(r"^[<>|=]?([a-zA-Z?])(\d*)$")
_KIND_SIZE = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
              "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "O": 8, "M": 8, "m": 8}


def _joblib_layout(state: Any) -> tuple[int, int, bool, bool] | None:
    """(element count, item size, holds objects, has alignment byte) or None when unclear."""
    if not isinstance(state, dict):
        return None
    shape, dtype = state.get("shape"), state.get("dtype")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        return None
    described = _describe_dtype(dtype)
    if described is None:
        return None
    itemsize, has_object = described
    aligned = state.get("numpy_array_alignment_bytes") is not None
    return math.prod(shape), itemsize, has_object, aligned


def _describe_dtype(dtype: Any) -> tuple[int, bool] | None:
    if not (isinstance(dtype, Call) and isinstance(dtype.func, Global) and dtype.func.name == "dtype"):
        return None
    args, state = dtype.args, dtype.state
    descr = args[0] if isinstance(args, tuple) and args else None
    match = _DESCR.match(descr) if isinstance(descr, str) else None
    if match is None:
        return None
    kind, digits = match.groups()
    has_object = kind == "O"
    if kind == "U":
        size = 4 * int(digits or 0)
    elif digits and not has_object:
        size = int(digits)
    else:
        size = _KIND_SIZE.get(kind, 0)
    if isinstance(state, tuple) and len(state) >= 8:
        elsize, flags = state[5], state[7]
        if isinstance(elsize, int) and elsize > 0:
            size = elsize
        if isinstance(flags, int) and flags & 1:  # NPY_ITEM_REFCOUNT: the dtype holds objects
            has_object = True
    return (size, has_object) if size > 0 or has_object else None
