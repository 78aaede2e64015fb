import Foundation

/// What the listener reports, in stream order. Times are seconds from the start of the stream.
public enum ListenEvent: Sendable, Equatable {
    /// The endpointer decided an utterance began at `time` (padding included).
    case speechStart(time: Double)
    /// The current guess at the utterance so far; `committed` leading words never change again.
    case partial(text: String, committedWords: Int)
    /// The speaker paused: the text of the utterance so far (`start..<end` seconds), decoded
    /// while they stayed quiet. The utterance is still open: speech may resume, and its
    /// `final` follows (the same text when it does not). `alternatives`: the same audio read by
    /// the check decode (`ListenerConfig.pauseCheckOptions`), when the text comes from a fast
    /// decode: act on the pause only when they mean the same.
    case pause(text: String, start: Double, end: Double, alternatives: [String] = [])
    /// The recognized text of an utterance covering `start..<end` seconds.
    case final(text: String, start: Double, end: Double)
    /// The utterance `start..<end` ended (after its `final`, or alone when it held no words).
    case speechEnd(start: Double, end: Double)
    /// Something the user should know (recognition behind real time, samples dropped).
    case warning(String)

    /// One JSON object (no trailing newline), e.g. `{"event":"final","text":"hi","start":1.2,"end":2.0}`.
    public var json: String {
        var object: [String: Any]
        switch self {
        case let .speechStart(time): object = ["event": "speechStart", "time": rounded(time)]
        case let .partial(text, committed): object = ["event": "partial", "text": text, "committedWords": committed]
        case let .pause(text, start, end, alternatives):
            object = ["event": "pause", "text": text, "start": rounded(start), "end": rounded(end)]
            if !alternatives.isEmpty { object["alternatives"] = alternatives }
        case let .final(text, start, end): object = ["event": "final", "text": text, "start": rounded(start), "end": rounded(end)]
        case let .speechEnd(start, end): object = ["event": "speechEnd", "start": rounded(start), "end": rounded(end)]
        case let .warning(message): object = ["event": "warning", "message": message]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func rounded(_ t: Double) -> Double { (t * 1000).rounded() / 1000 }
}
