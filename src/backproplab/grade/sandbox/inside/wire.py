"""The wire format both sides of the sandbox speak: one strict codec for plain data.

The grader encodes requests and decodes replies with it; the session inside the
sandbox decodes requests and encodes replies. Nothing the session sends is
trusted: `decode` accepts only plain data (JSON for structure, raw bytes of a
fixed list of bool/int/float dtypes for arrays) within size, depth and length
caps. It imports nothing but the standard library and numpy: inside the sandbox
only those exist.
"""

from __future__ import annotations

import collections.abc
import itertools
import json
import os
import struct
from typing import Any

import numpy as np

# ---------------------------------------------------------------- wire format
# A frame is an 8-byte little-endian length, then the payload. A payload is a
# 4-byte header length, a JSON header {"v": tree, "n": [blob sizes]}, then the
# blobs (raw array bytes). In the tree, JSON null/bool/number/string are
# themselves; a JSON list is a tagged container: ["l", ...] list, ["t", ...]
# tuple, ["d", k1, v1, ...] dict, ["a", i, dtype, shape] an array made from
# blob i. Nothing is ever unpickled.

FRAME_HEADER = struct.Struct("<Q")
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # leaves and containers in one message
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float — no complex, object, str, void
# The only array element types that cross (little-endian on the wire): raw bytes of these are always numbers.
ARRAY_DTYPES = frozenset({"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"})


class WireError(ValueError):
    """A value or frame that is not plain data, or breaks a size limit."""


def encode(value: Any) -> bytes:
    """Serialise plain data (numbers, str, None, numeric arrays, list/tuple/dict of these).

    Subclasses of float, int, str and ndarray are converted to the plain type
    without calling any method they override; generators and other iterators are
    materialised to a list. Anything else raises `WireError`.
    """
    blobs: list[bytes] = []
    budget = [MAX_ITEMS]

    def plain_array(a: np.ndarray) -> list:
        arr = np.ndarray.view(a, np.ndarray)  # an ndarray subclass's overrides never run
        if arr.dtype.str.replace(">", "<") not in ARRAY_DTYPES:
            raise WireError(f"an array of dtype {arr.dtype} (only bool, int and float arrays can be returned)")
        arr = arr.astype(arr.dtype.newbyteorder("<"), order="C")  # a copy: little-endian, C order
        blobs.append(arr.tobytes())
        return ["a", len(blobs) - 1, arr.dtype.str, list(arr.shape)]

    def enc(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise WireError(f"more than {MAX_ITEMS} items")
        if depth > MAX_DEPTH:
            raise WireError(f"nesting deeper than {MAX_DEPTH}")
        t = type(v)
        if v is None or t is bool:
            return v
        if issubclass(t, np.ndarray):
            return plain_array(v)
        if issubclass(t, np.generic):  # numpy scalars (np.float64 is also a float: catch it here)
            scalar = np.array(v)
            if scalar.dtype.kind not in NUMERIC_KINDS:
                raise WireError(f"a numpy scalar of dtype {scalar.dtype}")
            return enc(np.ndarray.item(scalar), depth)
        # Subclasses become the plain type through the base class's own methods,
        # so an overridden __eq__, __float__ or __iter__ never runs.
        if issubclass(t, int):
            return int.__int__(v)
        if issubclass(t, float):
            return float.__float__(v)
        if issubclass(t, str):
            return str.__str__(v)
        if issubclass(t, list):
            return ["l", *(enc(x, depth + 1) for x in list.__iter__(v))]
        if issubclass(t, tuple):
            return ["t", *(enc(x, depth + 1) for x in tuple.__iter__(v))]
        if issubclass(t, dict):
            out: list = ["d"]
            for k, x in dict.items(v):
                out += [enc(k, depth + 1), enc(x, depth + 1)]
            return out
        if issubclass(t, (collections.abc.Iterator, range)):
            return ["l", *(enc(x, depth + 1) for x in itertools.islice(iter(v), MAX_ITEMS + 1))]
        raise WireError(f"an object of type {type_name(v)}")

    tree = enc(value, 0)
    header = json.dumps({"v": tree, "n": [len(b) for b in blobs]}, separators=(",", ":")).encode()
    payload = struct.pack("<I", len(header)) + header + b"".join(blobs)
    return FRAME_HEADER.pack(len(payload)) + payload


def decode(payload: bytes, *, max_str: int | None = None, clean_text: bool = False) -> Any:
    """Parse a payload written by `encode`, trusting nothing in it.

    Arrays are read with ``allow_pickle=False`` and must be bool/int/float;
    strings longer than `max_str` characters, unknown tags, too deep or too
    large structures raise `WireError`. With `clean_text` every string comes
    back safe to write anywhere (`clean`): the grader's side, whose strings end
    up in results.json, feedback pages, the gradebook and the terminal.
    """
    try:
        (hlen,) = struct.unpack_from("<I", payload, 0)
        header = json.loads(payload[4:4 + hlen].decode("utf-8"))
        sizes = header["n"]
        tree = header["v"]
    except (struct.error, ValueError, UnicodeDecodeError, KeyError, TypeError, RecursionError) as e:
        raise WireError(f"unreadable header ({type(e).__name__})") from None
    if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
        raise WireError("bad blob sizes")
    if 4 + hlen + sum(sizes) != len(payload):
        raise WireError("frame length does not match its contents")
    blobs, pos = [], 4 + hlen
    for n in sizes:
        blobs.append(payload[pos:pos + n])
        pos += n
    budget = [MAX_ITEMS]

    def dec(node: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise WireError("too large or too deeply nested")
        t = type(node)
        if node is None or t in (bool, int, float):
            return node
        if t is str:
            if max_str is not None and len(node) > max_str:
                raise WireError(f"a string longer than {max_str} characters")
            return clean(node) if clean_text else node
        if t is list and node and type(node[0]) is str:
            tag, rest = node[0], node[1:]
            if tag == "l":
                return [dec(x, depth + 1) for x in rest]
            if tag == "t":
                return tuple(dec(x, depth + 1) for x in rest)
            if tag == "d" and len(rest) % 2 == 0:
                out = {}
                for k, x in zip(rest[::2], rest[1::2]):
                    key = dec(k, depth + 1)
                    try:
                        out[key] = dec(x, depth + 1)
                    except TypeError:
                        raise WireError("an unhashable dict key") from None
                return out
            if tag == "a" and len(rest) == 3:
                return _array(rest, blobs)
        raise WireError("a value that is not plain data")

    try:
        return dec(tree, 0)
    except RecursionError:
        raise WireError("too deeply nested") from None


def _array(node: list, blobs: list[bytes]) -> np.ndarray:
    """["a", i, dtype, shape] → a new plain ndarray made from blob i, checked against its header.

    The dtype must be one of ARRAY_DTYPES, so the bytes can only ever be numbers.
    """
    index, dtype, shape = node
    if (type(index) is not int or not 0 <= index < len(blobs) or type(dtype) is not str or dtype not in ARRAY_DTYPES
            or type(shape) is not list or len(shape) > MAX_DEPTH or any(type(n) is not int or n < 0 for n in shape)):
        raise WireError("a malformed array")
    count = 1
    for n in shape:
        count *= n
    blob = blobs[index]
    if count * np.dtype(dtype).itemsize != len(blob):
        raise WireError("array data does not match its shape")
    return np.frombuffer(blob, dtype=dtype).reshape(tuple(shape)).astype(dtype[1:])  # a native, writable copy


_CONTROLS = {c: "\ufffd" for c in [*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0)]}


def clean(text: str) -> str:
    """`text` with what cannot be written or shown safely replaced by U+FFFD: lone surrogates
    (UTF-8 cannot encode them: writing one aborts a file) and control characters other than
    tab and newline (terminal escapes). Well-formed text comes back as it is."""
    if text.isascii() and text.isprintable():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.translate(_CONTROLS)


def type_name(v: Any) -> str:
    """The name of v's type, read without calling anything v defines."""
    return type.__getattribute__(type(v), "__name__") if isinstance(type(v), type) else "?"


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly n bytes from a blocking fd; None at end of file."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


