/// What kind of artifact a scanned file is, decided by magic bytes first and extension second.
///
/// The raw values are the stable strings used in JSON output and documented in
/// `docs/scanning.md`.
public enum ScanFormat: String, Codable, Sendable, CaseIterable {
    /// A safetensors file, judged by the injected safetensors checker.
    case safetensors
    /// A plain pickle stream (`.pkl`, `.pickle`, a pickle-based `.bin`/`.pt`/`.ckpt`).
    case pickle
    /// A PyTorch zip checkpoint (`*/data.pkl` plus raw tensor members).
    case pytorchZip = "pytorch-zip"
    /// A legacy (pre-1.6) PyTorch file: several pickles in one stream, then raw storages.
    case pytorchLegacy = "pytorch-legacy"
    /// A NumPy `.npy` array file.
    case numpy
    /// A NumPy `.npz` archive (a zip of `.npy` members).
    case numpyZip = "numpy-zip"
    /// A Keras v3 `.keras` archive (a zip with `config.json`).
    case keras
    /// A joblib file: a pickle with inline array data, possibly zlib- or gzip-compressed.
    case joblib
    /// Anything else: configs, tokenizers, text, images, empty files. Not deserialized as code.
    case data

    /// The policy family this format belongs to, for `--formats safetensors,data,pickle`.
    public var family: ScanFormatFamily {
        switch self {
        case .safetensors: return .safetensors
        case .data: return .data
        case .pickle, .pytorchZip, .pytorchLegacy, .numpy, .numpyZip, .keras, .joblib: return .pickle
        }
    }
}

/// A coarse classification a registry policy can allow or refuse as a whole.
///
/// `pickle` covers every format whose loader can run code (pickle, PyTorch, NumPy object
/// arrays, joblib) and Keras, whose `Lambda` layers carry bytecode.
public enum ScanFormatFamily: String, Codable, Sendable, CaseIterable {
    case safetensors
    case data
    case pickle
}
