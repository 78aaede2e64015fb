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
        case let .missingHypothesis(file, source):
            return "\(source) has no transcript for \(file)"
        }
    }
}
