/// `Array.withUnsafeBytes` is `rethrows` and so erases typed errors; this keeps them.
func safetensorsWithBytes<Value, Failure: Error>(
    of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
) throws(Failure) -> Value {
    try array.withUnsafeBytes { raw in Result { () throws(Failure) in try body(raw) } }.get()
}
