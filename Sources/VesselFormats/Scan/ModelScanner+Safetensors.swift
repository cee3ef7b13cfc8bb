extension ModelScanner {
    /// Judges a `.safetensors` file by the strict safetensors rules (header and layout only; the
    /// weights are never read): valid → safe, invalid → invalid with the parser's reason.
    public static let safetensorsRules: @Sendable (String) -> (valid: Bool, reason: String?) = { path in
        do {
            _ = try SafetensorsHeader.readFile(atPath: path)
            return (true, nil)
        } catch let error as SafetensorsError {
            return (false, "\(error.code): \(error.message)")
        } catch {
            return (false, "\(error)")
        }
    }
}
