import VesselCore

/// A parsed JSON value that keeps object members in document order: VesselCore's
/// ``StrictJSONValue``, as ``StrictJSONParser`` produces it (duplicate keys refused, so
/// lookups by key are unambiguous).
typealias JSONValue = StrictJSONValue
