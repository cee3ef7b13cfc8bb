#!/usr/bin/env python3
"""Interop helper between Vessel's safetensors library and the reference implementation.

Needs PyPI `safetensors==0.8.0` (framework-free API only: `serialize_file`, `TensorSpec`,
`deserialize`); no numpy or torch.

Usage:
  safetensors_interop.py write DIR   write reference files (every dtype Python can write) into
                                     DIR and print their JSON manifest
  safetensors_interop.py read DIR    read every *.safetensors in DIR with the reference
                                     implementation and print the JSON manifest
  safetensors_interop.py seeds DIR   write the small seed files the Swift mutation test uses

Manifest: {"files": {"<file name>": {"metadata": {...} | null, "tensors": {"<name>":
{"dtype": "BF16", "shape": [..], "sha256": "<hex of the tensor bytes>", "bytes": N}}}}}
"""
import ctypes
import hashlib
import json
import os
import sys

import safetensors

# Reference header dtype name -> constructor name TensorSpec accepts in 0.8.0.
# F6_E2M3 / F6_E3M2 cannot be written through TensorSpec in 0.8.0 (reading works).
SPEC_NAMES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
    "I32": "int32", "U32": "uint32", "I64": "int64", "U64": "uint64", "F16": "float16",
    "F32": "float32", "F64": "float64", "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn",
    "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2": "float8_e5m2", "F8_E5M2FNUZ": "float8_e5m2fnuz",
    "F8_E8M0": "float8_e8m0fnu", "F4": "float4_e2m1fn_x2", "C64": "complex64",
}
BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E4M3FNUZ": 8, "F8_E5M2": 8, "F8_E5M2FNUZ": 8,
    "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}


def pattern(seed, count):
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(count))


def write_file(path, tensors, metadata=None):
    """tensors: list of (name, dtype, logical shape, bytes)."""
    keep = []  # keep buffers alive while serializing
    specs = {}
    for name, dtype, shape, data in tensors:
        buf = ctypes.create_string_buffer(data, max(len(data), 1))
        keep.append(buf)
        spec_shape = list(shape)
        if dtype == "F4":
            # TensorSpec doubles the last dim of packed F4 (storage shape -> logical shape).
            spec_shape[-1] //= 2
        specs[name] = safetensors.TensorSpec(
            dtype=SPEC_NAMES[dtype], shape=spec_shape,
            data_ptr=ctypes.addressof(buf), data_len=len(data))
    safetensors.serialize_file(specs, path, metadata=metadata)


def nbytes(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    return n * BITS[dtype] // 8


def write_reference(directory):
    os.makedirs(directory, exist_ok=True)
    tensors = []
    for i, dtype in enumerate(sorted(SPEC_NAMES)):
        shape = [2, 4] if dtype != "C64" else [3]
        tensors.append((f"t_{dtype.lower()}", dtype, shape, pattern(i + 1, nbytes(dtype, shape))))
    tensors.append(("scalar_f32", "F32", [], pattern(99, 4)))
    tensors.append(("empty_bf16", "BF16", [0, 3], b""))
    tensors.append(("名前/ünïcode", "U8", [5], pattern(7, 5)))
    write_file(os.path.join(directory, "py_all_dtypes.safetensors"), tensors,
               metadata={"format": "pt", "source": "python"})
    write_file(os.path.join(directory, "py_empty.safetensors"), [])
    big = [("layer.%d.weight" % i, "BF16", [16, 8], pattern(i, 256)) for i in range(8)]
    write_file(os.path.join(directory, "py_layers.safetensors"), big, metadata={"format": "pt"})


def manifest(directory):
    files = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(directory, name), "rb") as handle:
            raw = handle.read()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        entries = {}
        for tensor_name, info in safetensors.deserialize(raw):
            data = bytes(info["data"])
            entries[tensor_name] = {
                "dtype": info["dtype"], "shape": list(info["shape"]),
                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            }
        files[name] = {"metadata": header.get("__metadata__"), "tensors": entries}
    return {"safetensors_version": safetensors.__version__, "files": files}


def write_seeds(directory):
    os.makedirs(directory, exist_ok=True)
    write_file(os.path.join(directory, "seed-mixed.safetensors"), [
        ("a", "F32", [2, 2], pattern(1, 16)),
        ("b", "BF16", [3], pattern(2, 6)),
        ("c", "F4", [2, 2], pattern(3, 2)),
        ("d", "U8", [], pattern(4, 1)),
        ("e", "I64", [0], b""),
    ], metadata={"format": "pt"})
    write_file(os.path.join(directory, "seed-unicode.safetensors"), [
        ("ünï\"code\\名", "F8_E4M3", [4], pattern(5, 4)),
        ("x.y", "C64", [1], pattern(6, 8)),
    ])
    write_file(os.path.join(directory, "seed-empty.safetensors"), [])


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "read", "seeds"):
        print(__doc__, file=sys.stderr)
        return 64
    command, directory = sys.argv[1], sys.argv[2]
    if command == "write":
        write_reference(directory)
        print(json.dumps(manifest(directory), sort_keys=True))
    elif command == "read":
        print(json.dumps(manifest(directory), sort_keys=True))
    else:
        write_seeds(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
