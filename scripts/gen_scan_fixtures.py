#!/usr/bin/env python3
"""Generate the scanner's fixture corpus and its expected verdicts.

Writes Tests/VesselFormatsTests/Fixtures/scan/*: every malicious pickle is written opcode by
opcode as raw bytes -- nothing malicious is ever pickled or loaded, and the payloads are
harmless (os.system("true") spelled as opcodes). Benign NumPy and joblib fixtures come from
the real libraries; PyTorch files are laid out by hand (torch is not installed).

Run from the package root with the development venv:

    .venv/bin/python scripts/gen_scan_fixtures.py

Needs numpy==1.26.4 and joblib==1.6.0 (see docs/scanning.md). The expected verdicts in
expected.json are written by hand below, not computed by any scanner; import offsets are
taken from pickletools.genops, independently of the Swift analyzer.
"""
import base64
import collections
import io
import json
import pathlib
import pickle
import pickletools
import struct
import zipfile
import zlib

import joblib
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "VesselFormatsTests" / "Fixtures" / "scan"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

EXPECTED = {}


# --- opcode helpers ---------------------------------------------------------------------------

def proto(n):
    return b"\x80" + bytes([n])


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module, name):
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def sbu(text):
    data = text.encode()
    assert len(data) < 256
    return b"\x8c" + bytes([len(data)]) + data


def binunicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def binput(i):
    return b"q" + bytes([i])


def binget(i):
    return b"h" + bytes([i])


MARK, STOP, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"(", b".", b"t", b"\x85", b"\x86", b"\x87"
REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, OBJ = b"R", b"b", b"\x81", b"\x92", b"o"
STACK_GLOBAL, MEMOIZE, EMPTY_TUPLE, EMPTY_DICT = b"\x93", b"\x94", b")", b"}"
SETITEMS, SETITEM, POP, EMPTY_LIST, APPEND = b"u", b"s", b"0", b"]", b"a"
NONE, NEWTRUE, NEWFALSE = b"N", b"\x88", b"\x89"


def binint1(n):
    return b"K" + bytes([n])


def os_system_call():
    """os.system("true") as protocol 2 opcodes."""
    return glob("os", "system") + binunicode("true") + TUPLE1 + REDUCE


def malicious_pickle():
    return proto(2) + os_system_call() + STOP


# --- bookkeeping -------------------------------------------------------------------------------

def genops_imports(data, names):
    """Offsets of GLOBAL/STACK_GLOBAL/INST opcodes via pickletools, paired with given names."""
    ops = [(op.name, pos) for op, _arg, pos in pickletools.genops(data) if op.name in ("GLOBAL", "STACK_GLOBAL", "INST")]
    assert len(ops) == len(names), (ops, names)
    return [{"module": m, "name": n, "opcode": op, "offset": pos} for (op, pos), (m, n) in zip(ops, names)]


def write(name, data, verdict, fmt, kinds=(), imports=None, note=""):
    path = OUT / name
    path.write_bytes(data)
    entry = {"verdict": verdict, "format": fmt, "kinds": sorted(set(kinds)), "note": note}
    if imports is not None:
        entry["imports"] = imports
    EXPECTED[name] = entry


def expect(name, verdict, fmt, kinds=(), note=""):
    EXPECTED[name] = {"verdict": verdict, "format": fmt, "kinds": sorted(set(kinds)), "note": note}


def zip_bytes(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member_name, data in members:
            info = zipfile.ZipInfo(member_name, date_time=FIXED_TIME)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


# --- PyTorch layouts ----------------------------------------------------------------------------

def torch_state_dict_pickle(legacy=False):
    """OrderedDict({'weight': 2x3 float tensor}) the way torch.save pickles it (protocol 2)."""
    storage_id = MARK + binunicode("storage") + glob("torch", "FloatStorage") + binunicode("0") + binunicode("cpu") + binint1(6)
    storage_id += (NONE + TUPLE) if legacy else TUPLE
    return (
        proto(2)
        + glob("collections", "OrderedDict") + binput(0) + EMPTY_TUPLE + REDUCE + binput(1)
        + MARK + binunicode("weight") + binput(2)
        + glob("torch._utils", "_rebuild_tensor_v2") + binput(3)
        + MARK + storage_id + b"Q"
        + binint1(0) + binint1(2) + binint1(3) + TUPLE2 + binint1(3) + binint1(1) + TUPLE2 + NEWFALSE
        + binget(0) + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE + binput(4)
        + SETITEMS + STOP
    )


TORCH_IMPORTS = [("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage")]


def torch_zip(data_pkl, extra=(), compression=zipfile.ZIP_STORED, prefix="archive"):
    members = [
        (f"{prefix}/data.pkl", data_pkl),
        (f"{prefix}/byteorder", b"little"),
        (f"{prefix}/data/0", struct.pack("<6f", *range(6))),
        (f"{prefix}/version", b"3\n"),
        (f"{prefix}/.data/serialization_id", b"1234567890"),
    ]
    return zip_bytes(members + list(extra), compression)


LEGACY_MAGIC = bytes([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E])


def legacy_torch(model_pickle):
    protocol = proto(2) + b"M\xe9\x03" + STOP
    sys_info = (proto(2) + EMPTY_DICT + MARK + binunicode("protocol_version") + b"M\xe9\x03"
                + binunicode("little_endian") + NEWTRUE + SETITEMS + STOP)
    keys = proto(2) + EMPTY_LIST + binunicode("0") + APPEND + STOP
    raw = struct.pack("<q", 6) + struct.pack("<6f", *range(6))
    return LEGACY_MAGIC + protocol + sys_info + model_pickle + keys + raw


# --- NumPy --------------------------------------------------------------------------------------

def npy_object_header():
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header = header + " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


# --- Keras --------------------------------------------------------------------------------------

def keras_config(extra_layers=()):
    dtype = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"},
         "registered_name": None},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "dense", "trainable": True, "dtype": dtype, "units": 2, "activation": "relu",
                    "use_bias": True,
                    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                           "config": {"seed": None}, "registered_name": None}},
         "build_config": {"input_shape": [None, 4]}, "registered_name": None},
    ] + list(extra_layers)
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "trainable": True, "dtype": dtype, "layers": layers},
            "registered_name": None, "build_config": {"input_shape": [None, 4]}, "compile_config": None}


def keras_file(config):
    members = [
        ("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2024-01-01@00:00:00"}).encode()),
        ("config.json", json.dumps(config).encode()),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 56),
    ]
    return zip_bytes(members, zipfile.ZIP_DEFLATED)


LAMBDA_LAYER = {
    "module": "keras.layers", "class_name": "Lambda",
    "config": {"name": "lambda", "trainable": True,
               "function": {"class_name": "__lambda__",
                            "config": {"code": base64.b64encode(b"harmless placeholder, not bytecode").decode(),
                                       "defaults": None, "closure": None}}},
    "registered_name": None,
}


# --- the corpus ---------------------------------------------------------------------------------

def pickles():
    data = malicious_pickle()
    write("global_os_system.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("os", "system")]), "GLOBAL os.system")

    data = proto(4) + sbu("posix") + sbu("system") + STACK_GLOBAL + sbu("true") + TUPLE1 + REDUCE + STOP
    write("stack_global_posix.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("posix", "system")]), "STACK_GLOBAL with the posix alias of os")

    data = proto(2) + glob("nt", "system") + binunicode("true") + TUPLE1 + REDUCE + STOP
    write("alias_nt_system.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="nt alias of os")

    data = b"c__builtin__\neval\n(Vprint(1)\ntR."
    write("alias_builtin_eval_proto0.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("__builtin__", "eval")]), "protocol 0, __builtin__ alias")

    data = (proto(2) + glob("builtins", "getattr")
            + glob("builtins", "__import__") + binunicode("os") + TUPLE1 + REDUCE
            + binunicode("system") + TUPLE2 + REDUCE
            + binunicode("true") + TUPLE1 + REDUCE + STOP)
    write("builtins_getattr_import.pkl", data, "unsafe", "pickle", ["dangerous-import", "indirect-call"],
          genops_imports(data, [("builtins", "getattr"), ("builtins", "__import__")]),
          "getattr(__import__('os'), 'system')('true')")

    data = (proto(2) + glob("importlib", "import_module") + binunicode("os") + TUPLE1 + REDUCE + POP
            + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + STOP)
    write("importlib_import_module.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="importlib")

    data = (proto(2) + glob("_operator", "attrgetter") + binunicode("system") + TUPLE1 + REDUCE
            + glob("builtins", "__import__") + binunicode("os") + TUPLE1 + REDUCE + TUPLE1 + REDUCE
            + binunicode("true") + TUPLE1 + REDUCE + STOP)
    write("operator_attrgetter.pkl", data, "unsafe", "pickle", ["dangerous-import", "indirect-call"],
          note="_operator.attrgetter alias")

    data = (proto(2) + glob("operator", "methodcaller") + binunicode("system") + binunicode("true") + TUPLE2 + REDUCE
            + POP + NONE + STOP)
    write("operator_methodcaller.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="operator.methodcaller")

    data = (proto(2) + glob("functools", "partial") + glob("collections", "OrderedDict") + TUPLE1 + REDUCE
            + EMPTY_TUPLE + REDUCE + STOP)
    write("functools_partial.pkl", data, "unsafe", "pickle", ["dangerous-import", "indirect-call"],
          genops_imports(data, [("functools", "partial"), ("collections", "OrderedDict")]),
          "partial wrapping an allowlisted callable is still a finding")

    data = (proto(2) + glob("pkgutil", "resolve_name") + binunicode("os:system") + TUPLE1 + REDUCE
            + binunicode("true") + TUPLE1 + REDUCE + STOP)
    write("pkgutil_resolve_name.pkl", data, "unsafe", "pickle", ["dangerous-import", "indirect-call"], note="pkgutil")

    data = proto(2) + glob("runpy", "run_path") + binunicode("/dev/null") + TUPLE1 + REDUCE + STOP
    write("runpy_run_path.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="runpy")

    data = (proto(4)
            + glob("_codecs", "decode") + sbu("bf") + sbu("rot13") + TUPLE2 + REDUCE
            + glob("_codecs", "decode") + sbu("flfgrz") + sbu("rot13") + TUPLE2 + REDUCE
            + STACK_GLOBAL + sbu("true") + TUPLE1 + REDUCE + STOP)
    write("codecs_computed_name.pkl", data, "unsafe", "pickle", ["dangerous-import", "non-literal-global"],
          note="STACK_GLOBAL of rot13-decoded names")

    data = (proto(4)
            + glob("_codecs", "encode") + sbu("os") + sbu("latin1") + TUPLE2 + REDUCE
            + glob("_codecs", "encode") + sbu("system") + sbu("latin1") + TUPLE2 + REDUCE
            + STACK_GLOBAL + sbu("true") + TUPLE1 + REDUCE + STOP)
    write("codecs_encode_stack_global.pkl", data, "unsafe", "pickle", ["non-literal-global"],
          note="allowlisted _codecs.encode results are opaque, never names")

    inner = malicious_pickle()
    data = proto(2) + glob("pickle", "loads") + b"C" + bytes([len(inner)]) + inner + TUPLE1 + REDUCE + STOP
    write("nested_pickle_loads.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="pickle.loads of a nested pickle")

    data = proto(2) + glob("_pickle", "loads") + b"C" + bytes([len(inner)]) + inner + TUPLE1 + REDUCE + STOP
    write("nested_cpickle_loads.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="_pickle.loads")

    data = (proto(2) + binunicode("os") + binput(0) + binunicode("system") + binput(1) + POP + POP
            + binget(0) + binget(1) + STACK_GLOBAL + binunicode("true") + TUPLE1 + REDUCE + STOP)
    write("stack_global_memo_binget.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("os", "system")]), "names fetched from the memo with BINGET")

    data = (proto(4) + sbu("subprocess") + MEMOIZE + sbu("getoutput") + MEMOIZE + POP + POP
            + binget(0) + binget(1) + STACK_GLOBAL + MEMOIZE + sbu("true") + TUPLE1 + REDUCE + STOP)
    write("stack_global_memoize.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("subprocess", "getoutput")]), "names stored with MEMOIZE")

    data = (proto(4) + sbu("os") + b"r" + struct.pack("<I", 1000) + sbu("system") + b"r" + struct.pack("<I", 70000)
            + POP + POP + b"j" + struct.pack("<I", 1000) + b"j" + struct.pack("<I", 70000) + STACK_GLOBAL
            + sbu("true") + TUPLE1 + REDUCE + STOP)
    write("stack_global_long_binget.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="LONG_BINPUT/LONG_BINGET")

    data = b"(S'true'\nios\nsystem\n."
    write("inst_os_system.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          genops_imports(data, [("os", "system")]), "INST calls without REDUCE")

    data = b"(csubprocess\ncall\n(S'true'\nlo."
    write("obj_subprocess_call.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="OBJ calls without REDUCE")

    data = proto(2) + glob("evil_package.payload", "Runner") + EMPTY_TUPLE + NEWOBJ + STOP
    write("newobj_unknown_class.pkl", data, "unsafe", "pickle", ["unknown-import"],
          genops_imports(data, [("evil_package.payload", "Runner")]), "NEWOBJ of an unknown class")

    data = (proto(4) + sbu("subprocess") + sbu("Popen") + STACK_GLOBAL + sbu("true") + TUPLE1 + EMPTY_DICT
            + NEWOBJ_EX + STOP)
    write("newobj_ex_popen.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="NEWOBJ_EX")

    data = (proto(2) + glob("evil_package", "Stateful") + EMPTY_TUPLE + NEWOBJ
            + EMPTY_DICT + binunicode("cmd") + binunicode("true") + SETITEM + BUILD + STOP)
    write("build_setstate.pkl", data, "unsafe", "pickle", ["unknown-import"], note="BUILD with __setstate__")

    data = proto(4) + sbu("torch") + sbu("serialization.os.system") + STACK_GLOBAL + sbu("true") + TUPLE1 + REDUCE + STOP
    write("dotted_name_traversal.pkl", data, "unsafe", "pickle", ["dangerous-import"], note="dotted attribute path")

    data = proto(2) + b"\x82\x01" + EMPTY_TUPLE + REDUCE + STOP
    write("ext1_extension.pkl", data, "unsafe", "pickle", ["extension-import"], note="EXT1")

    data = (proto(2) + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + EMPTY_TUPLE + REDUCE + STOP)
    write("indirect_call.pkl", data, "unsafe", "pickle", ["indirect-call"], note="calling the result of a call")

    benign = pickle.dumps(123, protocol=2)
    data = benign + malicious_pickle()
    write("multi_pickle_second_malicious.pkl", data, "unsafe", "pickle", ["dangerous-import"],
          [{"module": "os", "name": "system", "opcode": "GLOBAL", "offset": len(benign) + 2}],
          "the second pickle of the stream")

    # Benign pickles from the real pickle module.
    write("benign_ordereddict_p0.pkl", pickle.dumps(collections.OrderedDict(a=1, b=[1, 2]), protocol=0),
          "safe", "pickle", note="protocol 0")
    write("benign_ordereddict_p2.pkl", pickle.dumps(collections.OrderedDict(a=1), protocol=2), "safe", "pickle")
    write("benign_ordereddict_p5.pkl", pickle.dumps(collections.OrderedDict(a=b"x" * 300), protocol=5), "safe", "pickle")
    write("benign_builtins_p2.pkl", pickle.dumps({"s": {1, 2}, "f": frozenset([3]), "c": 1j, "r": range(3), "sl": slice(1, 2), "b": bytearray(b"ab")}, protocol=2),
          "safe", "pickle", note="__builtin__ names mapped as CPython does for protocol < 3")
    write("benign_builtins_p4.pkl", pickle.dumps({"s": {1, 2}, "f": frozenset([3]), "c": 1j, "b": bytearray(b"ab"), "t": (1, "x", None, True, 1.5, 2**70)}, protocol=4),
          "safe", "pickle")
    write("benign_plain_data.pickle", pickle.dumps({"a": [1, 2.5, "x", None], "b": (True, b"\x00" * 5)}, protocol=3),
          "safe", "pickle")
    write("benign_numpy_p2.pkl", pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3), protocol=2), "safe", "pickle")
    write("benign_numpy_p5.pkl", pickle.dumps(np.arange(3), protocol=5), "safe", "pickle",
          note="numpy.core.numeric._frombuffer with BYTEARRAY8")
    write("benign_numpy_scalar.pkl", pickle.dumps({"x": np.float64(1.5), "dt": np.dtype("<U5")}, protocol=4), "safe", "pickle")

    # Malformed.
    write("empty.pkl", b"", "invalid", "pickle", ["empty"])
    full = pickle.dumps(collections.OrderedDict(a=1), protocol=2)
    write("truncated.pkl", full[: len(full) // 2], "invalid", "pickle", ["truncated"])
    write("unknown_opcode.pkl", proto(2) + b"\xff" + STOP, "invalid", "pickle", ["malformed"])
    write("stack_underflow.pkl", proto(2) + REDUCE + STOP, "invalid", "pickle", ["malformed"])
    write("bad_memo.pkl", proto(2) + binget(5) + STOP, "invalid", "pickle", ["malformed"])
    write("absurd_length.pkl", proto(4) + b"\x8d" + struct.pack("<Q", 1 << 62) + b"abc", "invalid", "pickle", ["truncated"])
    write("no_stop.pkl", proto(2) + binint1(1), "invalid", "pickle", ["truncated"])
    write("truncated_after_import.pkl", proto(2) + glob("os", "system") + binunicode("tr"), "unsafe", "pickle",
          ["dangerous-import", "truncated"], note="unsafe wins over invalid")

    # .bin files.
    write("proto0_model.bin", b"cos\nsystem\n(S'true'\ntR.", "unsafe", "pickle", ["dangerous-import"],
          note="a protocol 0 pickle named .bin")
    write("raw_weights.bin", bytes(range(256)) * 4, "safe", "data", note="raw bytes named .bin")


def torch_files():
    benign = torch_state_dict_pickle()
    write("torch_benign.pt", torch_zip(benign), "safe", "pytorch-zip", note="stored members")
    EXPECTED["torch_benign.pt"]["imports"] = [
        dict(entry, member="archive/data.pkl") for entry in genops_imports(benign, TORCH_IMPORTS)]
    write("torch_benign_deflated.pth", torch_zip(benign, compression=zipfile.ZIP_DEFLATED), "safe", "pytorch-zip")
    write("torch_benign_model_dir.bin", torch_zip(benign, prefix="pytorch_model"), "safe", "pytorch-zip",
          note=".bin that is a PyTorch zip")
    write("torch_malicious_stored.pt", torch_zip(malicious_pickle()), "unsafe", "pytorch-zip", ["dangerous-import"])
    write("torch_malicious_deflated.pt", torch_zip(malicious_pickle(), compression=zipfile.ZIP_DEFLATED),
          "unsafe", "pytorch-zip", ["dangerous-import"])
    write("torch_malicious_other_pkl.pt", torch_zip(benign, extra=[("archive/extra/optimizer.pkl", malicious_pickle())]),
          "unsafe", "pytorch-zip", ["dangerous-import"], note="a .pkl member other than data.pkl")
    write("torch_legacy_benign.pt", legacy_torch(torch_state_dict_pickle(legacy=True)), "safe", "pytorch-legacy")
    write("torch_legacy_malicious.pt", legacy_torch(malicious_pickle()), "unsafe", "pytorch-legacy", ["dangerous-import"],
          note="the model pickle of a stacked legacy stream")
    legacy = legacy_torch(torch_state_dict_pickle(legacy=True))
    write("torch_legacy_truncated.pt", legacy[:40], "invalid", "pytorch-legacy", ["truncated"])
    whole = torch_zip(benign)
    write("torch_truncated.pt", whole[: len(whole) // 2], "invalid", "pickle", ["truncated"], note="zip without its directory")
    write("empty.pt", b"", "invalid", "pickle", ["empty"])
    write("torch_traversal.pt", torch_zip(benign, extra=[("../../etc/evil.pkl", pickle.dumps(1, protocol=2))]),
          "unsafe", "pytorch-zip", ["path-traversal"], note="member escaping the extraction folder")
    write("torch_backslash_traversal.pt", torch_zip(benign, extra=[("archive\\..\\evil.txt", b"x")]),
          "unsafe", "pytorch-zip", ["path-traversal"])
    # A valid pickle whose BINBYTES8 payload is 64 MiB of zeros: inflates ~1000:1.
    size = 64 << 20
    bomb_pickle = proto(4) + b"\x8e" + struct.pack("<Q", size) + bytes(size) + STOP
    write("torch_zip_bomb.pt", torch_zip(bomb_pickle, compression=zipfile.ZIP_DEFLATED), "unsafe", "pytorch-zip",
          ["decompression-bomb"], note="inflate ratio limit enforced while inflating")
    write("torch_zip64_records.pt", with_zip64_end_records(torch_zip(benign), saturate=False), "safe", "pytorch-zip",
          note="ZIP64 end records with unsaturated classic fields (Python zipfile past 2 GiB)")
    write("torch_zip64_saturated.pt", with_zip64_end_records(torch_zip(benign), saturate=True), "safe", "pytorch-zip",
          note="ZIP64 end records with saturated classic fields")
    write("torch_overlap_bomb.pt", overlapping_zip(), "unsafe", "pickle", ["decompression-bomb"],
          note="two directory entries sharing one member's bytes; refused before classification")


def with_zip64_end_records(data, saturate):
    """Insert ZIP64 end record + locator before the classic end record (as writers do past 2 GiB)."""
    eocd = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<HII", data[eocd + 10: eocd + 20])
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, eocd, 1)
    end = bytearray(data[eocd:])
    if saturate:
        struct.pack_into("<HHII", end, 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    return data[:eocd] + record + locator + bytes(end)


def overlapping_zip():
    """A zip whose two directory entries point at the same local header (non-recursive bomb)."""
    data = zip_bytes([("archive/data.pkl", pickle.dumps(1, protocol=2))])
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", data[eocd + 16: eocd + 20])[0]
    central = data[cd_offset:eocd]
    second = bytearray(central)
    name = b"archive/data.pkl"
    second = bytes(second).replace(name, b"archive/copy.pkl")
    new_central = central + second
    end = bytearray(data[eocd:])
    struct.pack_into("<HHI", end, 8, 2, 2, len(new_central))
    return data[:cd_offset] + new_central + bytes(end)


def numpy_files():
    write("np_float.npy", npy_bytes(np.arange(12, dtype="<f8").reshape(3, 4)), "safe", "numpy")
    write("np_structured.npy", npy_bytes(np.zeros(3, dtype=[("a", "<f4"), ("b", "<i2", (2,))])), "safe", "numpy")
    write("np_object_benign.npy", npy_bytes(np.array([1, "two", None, 3.5], dtype=object), allow_pickle=True),
          "safe", "numpy", note="object array: the embedded pickle is scanned")
    write("np_object_malicious.npy", npy_object_header() + malicious_pickle(), "unsafe", "numpy", ["dangerous-import"])
    write("np_truncated.npy", npy_bytes(np.arange(100, dtype="<f8"))[:200], "invalid", "numpy", ["truncated"])
    write("np_bad_header.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sy}", "invalid", "numpy", ["malformed"])
    write("empty.npy", b"", "invalid", "numpy", ["empty"])
    write("np_not_numpy.npy", b"hello world, not an array\n", "invalid", "numpy", ["unrecognized"])

    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(5), b=np.ones((2, 2)))
    write("npz_benign.npz", buffer.getvalue(), "safe", "numpy-zip")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, a=np.zeros(1000), o=np.array([{"k": 1}], dtype=object))
    write("npz_compressed_object_benign.npz", buffer.getvalue(), "safe", "numpy-zip")
    write("npz_malicious_object.npz", zip_bytes([("x.npy", npy_object_header() + malicious_pickle())], zipfile.ZIP_DEFLATED),
          "unsafe", "numpy-zip", ["dangerous-import"])
    write("npz_traversal.npz", zip_bytes([("/tmp/abs.npy", npy_bytes(np.arange(2)))]), "unsafe", "numpy-zip",
          ["path-traversal"])


def joblib_files():
    value = {"weights": np.arange(6, dtype="<f8").reshape(2, 3), "name": "model", "objects": np.array([1, "a"], dtype=object)}
    joblib.dump(value, OUT / "joblib_benign.joblib")
    expect("joblib_benign.joblib", "safe", "joblib", note="inline arrays and a nested object-array pickle")
    joblib.dump(value, OUT / "joblib_benign_as.pkl")
    expect("joblib_benign_as.pkl", "safe", "joblib", note="a joblib file named .pkl")
    joblib.dump(value, OUT / "joblib_zlib.joblib", compress=3)
    expect("joblib_zlib.joblib", "safe", "joblib")
    joblib.dump(value, OUT / "joblib_gzip.joblib", compress=("gzip", 3))
    expect("joblib_gzip.joblib", "safe", "joblib")
    joblib.dump(value, OUT / "joblib_lzma.joblib", compress=("lzma", 3))
    expect("joblib_lzma.joblib", "invalid", "joblib", ["unsupported-compression"])
    joblib.dump(value, OUT / "joblib_bz2.joblib", compress=("bz2", 3))
    expect("joblib_bz2.joblib", "invalid", "joblib", ["unsupported-compression"])
    write("joblib_malicious.joblib", malicious_pickle(), "unsafe", "joblib", ["dangerous-import"])
    write("joblib_malicious_zlib.joblib", zlib.compress(malicious_pickle()), "unsafe", "joblib", ["dangerous-import"])
    write("joblib_malicious_nested.joblib", joblib_wrapper_with_nested(malicious_pickle()), "unsafe", "joblib",
          ["dangerous-import"], note="object-array pickle nested after a NumpyArrayWrapper")


def joblib_wrapper_with_nested(nested):
    dtype = (glob("numpy", "dtype") + sbu("O8") + NEWFALSE + NEWTRUE + TUPLE3 + REDUCE
             + MARK + binint1(3) + sbu("|") + NONE + NONE + NONE + b"J\xff\xff\xff\xff" + b"J\xff\xff\xff\xff"
             + binint1(63) + TUPLE + BUILD)
    state = (EMPTY_DICT + MARK + sbu("subclass") + glob("numpy", "ndarray") + sbu("shape") + binint1(1) + TUPLE1
             + sbu("order") + sbu("C") + sbu("dtype") + dtype + sbu("allow_mmap") + NEWFALSE
             + sbu("numpy_array_alignment_bytes") + binint1(16) + SETITEMS)
    return proto(4) + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + EMPTY_TUPLE + NEWOBJ + state + BUILD + nested + STOP


def keras_files():
    write("keras_benign.keras", keras_file(keras_config()), "safe", "keras")
    write("keras_lambda.keras", keras_file(keras_config([LAMBDA_LAYER])), "unsafe", "keras", ["code-layer"])
    custom = {"module": "evil_package.layers", "class_name": "Backdoor", "config": {"name": "b"},
              "registered_name": "Custom>Backdoor"}
    write("keras_custom_module.keras", keras_file(keras_config([custom])), "unsafe", "keras",
          ["unknown-module", "custom-object"])
    tfop = {"module": "keras.layers", "class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"},
            "registered_name": None}
    write("keras_tfoplambda.keras", keras_file(keras_config([tfop])), "unsafe", "keras", ["code-layer"])
    write("keras_not_zip.keras", b"{not a zip}", "invalid", "keras", ["unrecognized"])
    write("keras_no_config.keras", zip_bytes([("metadata.json", b"{}")]), "invalid", "keras", ["malformed"])


def data_files():
    write("config.json", json.dumps({"hidden_size": 8}).encode(), "safe", "data")
    write("tokenizer.txt", b"hello\nworld\n", "safe", "data")
    write("empty.txt", b"", "safe", "data")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    write("model.safetensors", struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1, 2), "safe", "safetensors",
          note="judged by the injected checker")
    write("broken.safetensors", b"abc", "invalid", "safetensors", ["malformed"], note="the injected checker refuses it")
    write("archive.zip", zip_bytes([("readme.txt", b"hi")]), "safe", "data", note="a zip no loader deserializes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    pickles()
    torch_files()
    numpy_files()
    joblib_files()
    keras_files()
    data_files()
    (OUT / "expected.json").write_text(json.dumps({"fixtures": EXPECTED}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(EXPECTED)} fixtures to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
