"""Read and write safetensors files with numpy only.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N,
N bytes of JSON mapping each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets relative to the end of the header, tensors packed back to back), an optional
``"__metadata__"`` map of strings, then the raw little-endian tensor bytes.

Floating-point tensors are returned as float32 (fp16 and bf16 upcast exactly); integer and bool
tensors keep their dtype. The reader memory-maps the file and checks the header strictly, so a
truncated or corrupt download fails with a message that says what is wrong.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

import numpy as np

__all__ = [
    "SafetensorsError",
    "TensorInfo",
    "read_header",
    "read_safetensors",
    "write_safetensors",
    "float32_to_bfloat16_bits",
    "bfloat16_bits_to_float32",
]

# safetensors dtype name -> numpy storage dtype (little-endian). BF16 is stored as raw uint16 bits.
_STORAGE = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_FLOAT_NAMES = {"F64", "F32", "F16", "BF16"}
_HEADER_LIMIT = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A safetensors file is malformed or a tensor cannot be stored."""


class TensorInfo(NamedTuple):
    """One header entry: stored dtype name, shape, and byte range inside the data section."""

    dtype: str
    shape: Tuple[int, ...]
    begin: int
    end: int


def _parse_header(path: Path) -> Tuple[Dict[str, TensorInfo], Dict[str, str], int]:
    """Return (tensors, metadata, data_start) after validating the header against the file size."""
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"{path}: file too short ({size} bytes) for a safetensors header")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > _HEADER_LIMIT or 8 + header_len > size:
            raise SafetensorsError(
                f"{path}: header length {header_len} does not fit the file ({size} bytes); "
                "is the file truncated or not safetensors?")
        raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SafetensorsError(f"{path}: header is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data_start = 8 + header_len
    data_len = size - data_start
    tensors: Dict[str, TensorInfo] = {}
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
        except (KeyError, TypeError, ValueError) as err:
            raise SafetensorsError(f"{path}: tensor {name!r} has a malformed header entry") from err
        if dtype not in _STORAGE:
            raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        expected = int(np.prod(shape, dtype=np.int64)) * _STORAGE[dtype].itemsize
        if not (0 <= begin <= end <= data_len) or end - begin != expected:
            raise SafetensorsError(
                f"{path}: tensor {name!r} ({dtype} {list(shape)}) has byte range [{begin}, {end}) "
                f"but needs {expected} bytes inside a {data_len}-byte data section")
        tensors[name] = TensorInfo(dtype, shape, begin, end)
    return tensors, metadata, data_start


def read_header(path) -> Tuple[Dict[str, TensorInfo], Dict[str, str]]:
    """Read only the header: tensor infos by name, and the ``__metadata__`` map.

    Cheap even for multi-GB files; use it to check key names and shapes before loading.
    """
    tensors, metadata, _ = _parse_header(Path(path))
    return tensors, metadata


def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (round half to even; NaN stays NaN), as uint16 bits."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def read_safetensors(path, names=None) -> Dict[str, np.ndarray]:
    """Load tensors from a safetensors file; floating types come back as float32.

    ``names`` limits loading to those tensors (all by default). Arrays are copies, so the file may be
    closed or replaced afterwards.
    """
    path = Path(path)
    tensors, _, data_start = _parse_header(path)
    wanted = tensors.keys() if names is None else names
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=data_start) \
        if path.stat().st_size > data_start else np.zeros(0, np.uint8)
    out: Dict[str, np.ndarray] = {}
    for name in wanted:
        if name not in tensors:
            raise SafetensorsError(f"{path}: no tensor named {name!r}")
        info = tensors[name]
        raw = np.frombuffer(data[info.begin:info.end].tobytes(), dtype=_STORAGE[info.dtype])
        if info.dtype == "BF16":
            array = bfloat16_bits_to_float32(raw)
        elif info.dtype in _FLOAT_NAMES:
            array = raw.astype(np.float32)
        else:
            array = raw.astype(_STORAGE[info.dtype].newbyteorder("="))
        out[name] = array.reshape(info.shape)
    return out


def _storage_of(array: np.ndarray, dtype: Optional[str]) -> Tuple[str, np.ndarray]:
    """Pick the stored dtype name and the little-endian array to write for one tensor."""
    array = np.asarray(array)
    if dtype is not None and array.dtype.kind == "f":
        if dtype == "BF16":
            return "BF16", float32_to_bfloat16_bits(array.astype(np.float32))
        if dtype not in _FLOAT_NAMES:
            raise SafetensorsError(f"cannot store floating tensor as {dtype}")
        return dtype, array.astype(_STORAGE[dtype])
    for name, storage in _STORAGE.items():
        if name != "BF16" and (array.dtype.kind, array.dtype.itemsize) == (storage.kind, storage.itemsize):
            return name, array.astype(storage)
    raise SafetensorsError(f"numpy dtype {array.dtype} has no safetensors equivalent")


def write_safetensors(path, tensors: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None,
                      dtype: Optional[str] = None) -> None:
    """Write tensors (name -> array) to a safetensors file, sorted by name as the reference library does.

    ``dtype`` ("F32", "F16" or "BF16") converts every floating tensor; integer tensors are kept.
    """
    entries = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        stored_name, stored = _storage_of(tensors[name], dtype)
        blob = np.ascontiguousarray(stored).tobytes()
        entries[name] = {"dtype": stored_name, "shape": list(stored.shape),
                         "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        entries = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}, **entries}
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    path = Path(path)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for blob in blobs:
            f.write(blob)
