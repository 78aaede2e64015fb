import Foundation

/// Every error the LLM module throws. Payloads are structured (path, key, tensor, offset,
/// expected vs found); `description` only formats them.
public enum LLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped (`errno` text in `reason`).
    case cannotOpen(path: String, reason: String)
    /// The file does not start with the `GGUF` magic.
    case notGGUF(path: String, foundMagic: UInt32)
    /// A GGUF version this reader does not handle (v2 and v3 are supported).
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends before a field that must be there.
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)
    /// A field holds a value that cannot be right (bad type code, absurd length, bad shape...).
    case corrupt(path: String, what: String, offset: Int, reason: String)
    /// A tensor uses a ggml type this module cannot compute with.
    case unsupportedTensorType(tensor: String, typeCode: UInt32)
    /// A metadata key is absent.
    case missingMetadata(key: String)
    /// A metadata key has another type than the one asked for.
    case metadataTypeMismatch(key: String, expected: String, found: String)
    /// A tensor the architecture needs is absent.
    case missingTensor(name: String)
    /// A tensor has another shape than the hyper-parameters imply.
    case tensorShapeMismatch(name: String, expected: [Int], found: [Int])
    /// A tensor's type cannot be used for the role it has (e.g. a quantized norm weight).
    case tensorTypeMismatch(name: String, role: String, type: String)
    /// `general.architecture` names an architecture with no registered implementation.
    case unsupportedArchitecture(String, known: [String])
    /// The conversation no longer fits in the context window.
    case contextFull(limit: Int, needed: Int)
    /// A token id outside the vocabulary.
    case invalidToken(id: Int, vocabularySize: Int)
    /// A bad generation or model parameter.
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open model file \(path): \(reason)"
        case let .notGGUF(path, magic):
            return "\(path) is not a GGUF file (magic 0x\(String(magic, radix: 16)), expected 0x46554747 'GGUF')"
        case let .unsupportedVersion(path, version):
            return "\(path): GGUF version \(version) is not supported (only 2 and 3)"
        case let .truncated(path, what, offset, needed, size):
            return "\(path) is truncated: \(what) at offset \(offset) needs \(needed) bytes but the file has \(size)"
        case let .corrupt(path, what, offset, reason):
            return "\(path) is corrupt: \(what) at offset \(offset): \(reason)"
        case let .unsupportedTensorType(tensor, code):
            return "tensor '\(tensor)' has ggml type \(code) (\(GGMLType(rawValue: code).map { "\($0)" } ?? "unknown")), which is not supported"
        case let .missingMetadata(key):
            return "GGUF metadata key '\(key)' is missing"
        case let .metadataTypeMismatch(key, expected, found):
            return "GGUF metadata key '\(key)' is \(found), expected \(expected)"
        case let .missingTensor(name):
            return "tensor '\(name)' is missing from the model file"
        case let .tensorShapeMismatch(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case let .tensorTypeMismatch(name, role, type):
            return "tensor '\(name)' (\(role)) has type \(type), which cannot be used there"
        case let .unsupportedArchitecture(arch, known):
            return "model architecture '\(arch)' is not supported (known: \(known.joined(separator: ", ")))"
        case let .contextFull(limit, needed):
            return "the conversation needs \(needed) tokens but the context holds \(limit); start a new conversation"
        case let .invalidToken(id, size):
            return "token id \(id) is outside the vocabulary of \(size) tokens"
        case let .invalidArgument(name, reason):
            return "invalid \(name): \(reason)"
        }
    }
}
