import Foundation

/// Errors of the voice pipeline (events, wake phrase, settings). The service has its own
/// (`AssistantError`, socket and API).
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line that should hold an `AssistantEvent` does not.
    case malformedEvent(line: String, reason: String)
    /// The wake phrase is empty or has no letters.
    case invalidWakePhrase(String)
    /// No intent matched and the language model is turned off.
    case noAnswer(question: String)
    /// A configuration value out of range.
    case invalidConfiguration(field: String, reason: String)

    public var description: String {
        switch self {
        case let .malformedEvent(line, reason):
            "malformed assistant event (\(reason)): \(line.prefix(200))"
        case let .invalidWakePhrase(phrase):
            "wake phrase '\(phrase)' has no words: give one to four words, e.g. \"hey hark\""
        case let .noAnswer(question):
            "no skill matches \"\(question)\" and the language model is off"
        case let .invalidConfiguration(field, reason):
            "invalid assistant setting \(field): \(reason)"
        }
    }
}
