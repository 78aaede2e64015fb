import Foundation

/// Who produced a reply: an offline skill or the local language model.
public enum ReplySource: String, Sendable, Codable, Equatable {
    case skill, llm
}

/// What the assistant reports, in order: the transcript `hark assist` prints, the events API
/// clients subscribe to. Times are seconds from the start of the audio stream.
///
/// A reply arrives as zero or more `replyPiece`s (the language model streams; a skill sends
/// its sentence as one piece) and always ends with one `reply` holding the whole text, so a
/// client may show pieces as they come or wait for the `reply`.
public enum AssistantEvent: Sendable, Equatable {
    /// The wake phrase was heard (`phrase` is what the recognizer wrote, e.g. "Hey Mark").
    case wake(phrase: String, time: Double)
    /// The current guess at the utterance being spoken.
    case partial(text: String)
    /// The recognized text of a whole utterance covering `start..<end` seconds.
    case final(text: String, start: Double, end: Double)
    /// The command matched an intent; slot values in their canonical form ("300" seconds).
    case intent(name: String, slots: [String: String], confidence: Double)
    /// A piece of the reply, as it is produced.
    case replyPiece(text: String, source: ReplySource)
    /// The reply is complete: its whole text (after any trimming of a cut-off sentence).
    /// `succeeded` is false when the skill could not do what was asked (the text says why).
    case reply(text: String, source: ReplySource, succeeded: Bool)
    /// A timer or alarm: set, or `fired` (ringing now).
    case timer(id: Int, kind: String, name: String?, fired: Bool)
    /// Hark started or stopped speaking (the microphone is gated in between).
    case speaking(started: Bool)
    /// Something went wrong; the assistant keeps running.
    case error(message: String)

    /// The event's name in JSON (`"event"` field).
    public var name: String {
        switch self {
        case .wake: "wake"
        case .partial: "partial"
        case .final: "final"
        case .intent: "intent"
        case .replyPiece: "replyPiece"
        case .reply: "reply"
        case .timer: "timer"
        case .speaking: "speaking"
        case .error: "error"
        }
    }

    /// One JSON object (no trailing newline), e.g.
    /// `{"event":"reply","source":"skill","succeeded":true,"text":"It's 5:04 PM."}`.
    public var json: String {
        var object: [String: Any] = ["event": name]
        switch self {
        case let .wake(phrase, time): object["phrase"] = phrase; object["time"] = Self.rounded(time)
        case let .partial(text): object["text"] = text
        case let .final(text, start, end): object["text"] = text; object["start"] = Self.rounded(start); object["end"] = Self.rounded(end)
        case let .intent(name, slots, confidence): object["intent"] = name; object["slots"] = slots; object["confidence"] = confidence
        case let .replyPiece(text, source): object["text"] = text; object["source"] = source.rawValue
        case let .reply(text, source, succeeded):
            object["text"] = text; object["source"] = source.rawValue; object["succeeded"] = succeeded
        case let .timer(id, kind, name, fired):
            object["id"] = id; object["kind"] = kind; object["fired"] = fired
            if let name { object["name"] = name }
        case let .speaking(started): object["started"] = started
        case let .error(message): object["message"] = message
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one line written by `json` (for API clients and tests).
    /// - Throws: `PipelineError.malformedEvent` naming what is wrong.
    public init(json line: String) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw PipelineError.malformedEvent(line: line, reason: "not a JSON object")
        }
        func field<T>(_ key: String, _ type: T.Type = T.self) throws -> T {
            guard let value = object[key] as? T else {
                throw PipelineError.malformedEvent(line: line, reason: "missing or mistyped field '\(key)'")
            }
            return value
        }
        func source() throws -> ReplySource {
            guard let s = ReplySource(rawValue: try field("source", String.self)) else {
                throw PipelineError.malformedEvent(line: line, reason: "source must be skill or llm")
            }
            return s
        }
        func number(_ key: String) throws -> Double { try field(key, NSNumber.self).doubleValue }
        switch try field("event", String.self) {
        case "wake": self = .wake(phrase: try field("phrase"), time: try number("time"))
        case "partial": self = .partial(text: try field("text"))
        case "final": self = .final(text: try field("text"), start: try number("start"), end: try number("end"))
        case "intent":
            self = .intent(name: try field("intent"), slots: try field("slots"), confidence: try number("confidence"))
        case "replyPiece": self = .replyPiece(text: try field("text"), source: try source())
        case "reply": self = .reply(text: try field("text"), source: try source(), succeeded: try field("succeeded", Bool.self))
        case "timer":
            self = .timer(id: try field("id", NSNumber.self).intValue, kind: try field("kind"),
                          name: object["name"] as? String, fired: try field("fired", Bool.self))
        case "speaking": self = .speaking(started: try field("started", Bool.self))
        case "error": self = .error(message: try field("message"))
        case let other: throw PipelineError.malformedEvent(line: line, reason: "unknown event '\(other)'")
        }
    }

    private static func rounded(_ t: Double) -> Double { (t * 1000).rounded() / 1000 }
}
