"""Content-based format detection: the file name is never consulted."""

from __future__ import annotations

from .pickle_analysis import looks_like_pickle

SNIFF_BYTES = 4096
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
GGUF_MAGIC = b"GGUF"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
SAFETENSORS_LENGTH_LIMIT = 1 << 32


def sniff(head: bytes) -> str:
    """Name of the format `head` (the first SNIFF_BYTES of the content) belongs to, or "unknown"."""
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(GGUF_MAGIC):
        return "gguf"
    if head.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    # safetensors: u64 header length, then a JSON object. Checked before pickle because a length
    # such as 0x0280 also starts with a pickle PROTO opcode, and before compressed streams because
    # a length such as 0x0178 also reads as a zlib header. A length of 4 GiB or more is something
    # else whose ninth byte happens to be "{" (text, a compressed stream): real headers are far smaller.
    if len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < SAFETENSORS_LENGTH_LIMIT:
        return "safetensors"
    from .formats.containers import is_tar, sniff_compressed
    from .formats.onnx_file import sniff_onnx

    if sniff_compressed(head):
        return "compressed"
    if is_tar(head):
        return "tar"
    if sniff_onnx(head):
        return "onnx"
    if looks_like_pickle(head, complete=len(head) < SNIFF_BYTES):
        return "pickle"
    from .protobuf import sniff_protobuf

    return sniff_protobuf(head) or "unknown"
