import Foundation

/// Everything that can go wrong in speech recognition, with the facts needed to fix it.
public enum ASRError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A model file could not be opened or mapped (`errno` from the failing call).
    case cannotOpenModel(path: String, call: String, errno: Int32)
    /// The file ended while reading `field` (of `variable`, when inside one) at byte `offset`.
    case truncatedModel(path: String, offset: Int, variable: String?, field: String)
    /// The model file is not a CTranslate2 model of a version this reader understands.
    case unsupportedModelVersion(path: String, found: UInt32, supported: UInt32)
    /// A header field holds a value that cannot be right (bad dtype, size mismatch, ...).
    case invalidModelData(path: String, offset: Int, variable: String?, reason: String)
    /// The model lacks a variable the network needs.
    case missingVariable(name: String, path: String)
    /// A variable has a shape the network cannot use.
    case shapeMismatch(variable: String, expected: [Int], found: [Int])
    /// `config.json` is missing or malformed.
    case invalidModelConfig(path: String, reason: String)
    /// The audio is empty or the options make no sense.
    case invalidInput(reason: String)

    public var description: String {
        switch self {
        case let .cannotOpenModel(path, call, errno):
            return "cannot open model \(path): \(call) failed: \(String(cString: strerror(errno)))"
        case let .truncatedModel(path, offset, variable, field):
            let inside = variable.map { " of variable '\($0)'" } ?? ""
            return "model \(path) is truncated: file ends at byte \(offset) while reading \(field)\(inside)"
        case let .unsupportedModelVersion(path, found, supported):
            return "model \(path) has CTranslate2 format version \(found); this reader supports version \(supported)"
        case let .invalidModelData(path, offset, variable, reason):
            let inside = variable.map { " in variable '\($0)'" } ?? ""
            return "model \(path) is corrupt at byte \(offset)\(inside): \(reason)"
        case let .missingVariable(name, path):
            return "model \(path) has no variable '\(name)'"
        case let .shapeMismatch(variable, expected, found):
            return "variable '\(variable)' has shape \(found); expected \(expected)"
        case let .invalidModelConfig(path, reason):
            return "model configuration \(path) is invalid: \(reason)"
        case let .invalidInput(reason):
            return "invalid input: \(reason)"
        }
    }
}
