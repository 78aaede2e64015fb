import Foundation

/// Every error the ASR module throws. One enum for the module, with structured payloads; the
/// description only formats them. Add a case per new failure kind (model files, decoding, ...)
/// and one `case` line in `description`.
public enum ASRError: Error, Sendable, CustomStringConvertible {
    /// A file the module needs could not be read (missing, unreadable, not UTF-8).
    case fileUnreadable(path: String, reason: String)
    /// A tokenizer file (`vocabulary.txt`, `tokenizer.json`) has content we cannot use.
    case malformedTokenizerFile(path: String, line: Int?, reason: String)
    /// A special token the tokenizer needs is not in the vocabulary.
    case missingSpecialToken(name: String, path: String)
    /// An evaluation manifest lacks a required column.
    case manifestMissingColumn(path: String, column: String, found: [String])
    /// An evaluation manifest row is malformed (1-based line number in the file).
    case manifestBadRow(path: String, line: Int, reason: String)
    /// Precomputed transcripts to score lack the row of a manifest file.
    case missingHypothesis(file: String, source: String)

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
    /// Memory for working buffers could not be allocated.
    case outOfMemory(what: String)

    public var description: String {
        switch self {
        case let .fileUnreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .malformedTokenizerFile(path, line, reason):
            return "malformed tokenizer file \(path)\(line.map { " line \($0)" } ?? ""): \(reason)"
        case let .missingSpecialToken(name, path):
            return "special token \(name) not found in the vocabulary of \(path)"
        case let .manifestMissingColumn(path, column, found):
            return "manifest \(path) has no '\(column)' column (header columns: \(found.joined(separator: ", ")))"
        case let .manifestBadRow(path, line, reason):
            return "manifest \(path) line \(line): \(reason)"
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
        case let .outOfMemory(what):
            return "out of memory allocating \(what)"
        case let .missingHypothesis(file, source):
            return "\(source) has no transcript for \(file)"
        }
    }
}
