import Foundation

/// Everything that can go wrong loading or running voice activity detection.
/// Payloads name the file, tensor and byte offsets involved; `description` only formats them.
public enum VADError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read at all.
    case unreadableFile(path: String, reason: String)
    /// The file ends before `needed` bytes (`available` are present) of `what`.
    case truncated(path: String, what: String, needed: Int, available: Int)
    /// The safetensors JSON header (bytes `8..<8+headerLength`) is not valid.
    case corruptHeader(path: String, headerLength: Int, reason: String)
    /// One tensor entry of the header is malformed (bad dtype, shape or offsets).
    case badTensorEntry(path: String, tensor: String, reason: String)
    /// A tensor's byte range lies outside the data section (offsets relative to its start).
    case tensorOutOfBounds(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// A tensor the model needs is not in the file.
    case missingTensor(path: String, tensor: String)
    /// A tensor has another shape than the model needs.
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    /// A tensor's element type cannot be read as floats (only F32, F16 and BF16 can).
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A configuration value is out of range.
    case invalidConfiguration(field: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .truncated(path, what, needed, available):
            return "\(path) is truncated: \(what) needs \(needed) bytes but only \(available) are present"
        case let .corruptHeader(path, headerLength, reason):
            return "\(path): corrupt safetensors header (\(headerLength) bytes at offset 8): \(reason)"
        case let .badTensorEntry(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .tensorOutOfBounds(path, tensor, begin, end, dataSize):
            return "\(path): tensor '\(tensor)' data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section"
        case let .missingTensor(path, tensor):
            return "\(path): tensor '\(tensor)' is missing (is this a Silero VAD 16 kHz safetensors file?)"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); only F32, F16 and BF16 can be read as floats"
        case let .invalidConfiguration(field, value, reason):
            return "invalid VAD setting \(field) = \(value): \(reason)"
        }
    }
}
