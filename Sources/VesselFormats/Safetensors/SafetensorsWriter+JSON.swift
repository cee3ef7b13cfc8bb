import VesselCore

/// Appends `text` as a JSON string literal the way serde_json (which writes the headers of
/// the Python and Rust libraries) does: `"` and `\` escaped, `\b \t \n \f \r` by their
/// short escapes, other control characters as `\u00XX`, everything else (DEL included) as
/// raw UTF-8. That is VesselCore's one escaper with DEL left raw.
func appendSafetensorsJSONString(_ text: String, to output: inout [UInt8]) {
    JSONText.appendQuoted(text, to: &output, escapingDEL: false)
}
