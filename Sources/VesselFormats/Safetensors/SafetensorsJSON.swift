import VesselCore

/// How safetensors headers and shard indexes are read: with VesselCore's strict JSON reader
/// (duplicate keys rejected, lone surrogates rejected), at most
/// ``SafetensorsLimits/maxJSONDepth`` arrays and objects open at once. Callers check the
/// UTF-8 of the whole input first, for its own error, so strings are not checked again.
extension StrictJSONReader.Options {
    static let safetensors = StrictJSONReader.Options(
        depthLimit: .openContainers(SafetensorsLimits.maxJSONDepth), rejectsDuplicateKeys: true, inputIsValidUTF8: true
    )
}
