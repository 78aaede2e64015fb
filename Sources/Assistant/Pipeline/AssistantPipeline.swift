import Foundation
import Intent
import VAD

/// How the assistant listens; every field has a default.
public struct AssistantConfig: Sendable, Equatable {
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// Commands start with the wake phrase (default).
        case wake
        /// Every utterance is a command.
        case always
        /// Only what is said while the user holds the floor (`MicrophoneGate.setTalking`).
        case pushToTalk = "ptt"
    }

    public var mode: Mode = .wake
    public var wakePhrase = WakePhrase.defaultText
    /// Edits accepted between what was heard and the wake phrase, as a fraction of its length.
    public var wakeTolerance = WakePhrase.defaultTolerance
    /// After the wake phrase said alone, an utterance starting within this many seconds of its
    /// end is the command.
    public var followOnSeconds = 8.0
    /// Prompt the recognizer with the wake phrase (wake mode), so Whisper spells it as such.
    public var biasRecognizerToWakePhrase = true
    /// Replace captured audio by silence while Hark speaks (off only to test that it matters).
    public var gateWhileSpeaking = true
    /// How long the microphone stays gated after speech ends (echo, playback latency).
    public var speakingTailMs = 400
    /// Ring and speak timers of the responder's `TimerCenter` as they go off.
    public var announcesTimers = true
    /// Answer a command as soon as the speaker pauses, when the words so far already form a
    /// complete intent (the listener's `.pause`), instead of waiting for the endpoint's
    /// trailing silence. Not in push-to-talk mode, where releasing the floor ends the command.
    /// See `AssistantPipeline` for the rule when speech resumes.
    public var answersOnPause = true
    /// Whether pauses are answered at all: `answersOnPause`, outside push-to-talk.
    var actsOnPauses: Bool { answersOnPause && mode != .pushToTalk }

    public init() {}
    public static let `default` = AssistantConfig()

    /// Throws `PipelineError` for values out of range.
    public func validate() throws {
        _ = try WakePhrase(wakePhrase, tolerance: wakeTolerance)
        guard followOnSeconds >= 0, followOnSeconds.isFinite else {
            throw PipelineError.invalidConfiguration(field: "followOnSeconds", reason: "\(followOnSeconds) must be 0 or more")
        }
        guard speakingTailMs >= 0 else {
            throw PipelineError.invalidConfiguration(field: "speakingTailMs", reason: "\(speakingTailMs) must be 0 or more")
        }
    }
}

/// The voice assistant: audio -> `Listener` (VAD, Whisper) -> wake phrase -> command ->
/// `CommandResponder` (skills, else the local model) -> reply as events and speech.
///
/// ```swift
/// let pipeline = try AssistantPipeline(recognizer: whisper, detector: vad, responder: responder,
///                                      speech: SpeakerOutput()) { event in print(event.json) }
/// try await pipeline.run(from: CaptureAudioSource(device: "default"))
/// ```
///
/// Events go to `onEvent` in order (from several tasks: it must be thread-safe). Transcripts of
/// speech not addressed to Hark (no wake phrase) are not reported at all. While Hark speaks, the
/// microphone is gated (`gate`), so its own voice never becomes a command.
///
/// Answering on a pause (`answersOnPause`): when the speaker pauses (`ListenerConfig.pauseMs`
/// of quiet) and the transcript of the utterance so far is a command that the intent parser
/// accepts as a whole (every slot of a template filled: "set a timer for" is not, "set a timer
/// for ten minutes" is), Hark reports that transcript as the `final` and answers at once; the
/// endpointer's trailing silence is not waited for. Questions no intent covers (the language
/// model's) and commands with free text ("remind me to {message}": the text may go on) always
/// wait for the endpoint. When the utterance's real final comes:
/// - the same words (case and punctuation aside): nothing more, the answer stands;
/// - the early words followed by more (the speaker went on after the pause, before Hark's
///   reply closed the microphone): the whole text is reported as a corrected `final`, and the
///   added words are answered only if they form a complete intent of their own;
/// - other words (the recognizer changed its mind on more audio): the corrected `final` is
///   reported and nothing is answered twice (`AssistantStatistics.earlyMismatches` counts it).
public final class AssistantPipeline: Sendable {
    public let listener: Listener
    public let responder: CommandResponder
    public let speech: any SpeechOutput
    public let config: AssistantConfig
    /// Push-to-talk, mute and the speaking gate.
    public let gate: MicrophoneGate
    public let wakePhrase: WakePhrase
    let emit: @Sendable (AssistantEvent) -> Void

    /// - Parameters:
    ///   - listenerConfig: endpointing and decoding; in wake mode the wake phrase is added as
    ///     the recognizer's prompt (`biasRecognizerToWakePhrase`).
    ///   - onEvent: receives every event.
    public init(recognizer: any SpeechRecognizing, detector: any VoiceActivityDetecting,
                listenerConfig: ListenerConfig = .commands, responder: CommandResponder,
                speech: any SpeechOutput, config: AssistantConfig = .default,
                onEvent: @escaping @Sendable (AssistantEvent) -> Void) throws {
        try config.validate()
        let wake = try WakePhrase(config.wakePhrase, tolerance: config.wakeTolerance)
        var listening = listenerConfig
        if config.mode == .wake && config.biasRecognizerToWakePhrase {
            listening.finalOptions.initialPrompt = wake.recognizerPrompt
            listening.partialOptions.initialPrompt = wake.recognizerPrompt
            listening.pauseOptions?.initialPrompt = wake.recognizerPrompt
            listening.pauseCheckOptions?.initialPrompt = wake.recognizerPrompt
        }
        // Which fast pause transcripts the `.pause` handling below could answer (a superset: it
        // ignores whether the assistant is awake): only those are worth checking.
        let actsOnPauses = config.actsOnPauses
        listener = Listener(recognizer: recognizer, detector: detector, config: listening) { [responder] text in
            guard actsOnPauses, let command = ConversationState.command(wake.match(text)?.remainder ?? text) else { return false }
            return responder.intentAnswerableOnPause(command) != nil
        }
        self.responder = responder
        self.speech = speech
        self.config = config
        wakePhrase = wake
        gate = MicrophoneGate(tail: .milliseconds(config.speakingTailMs), pushToTalk: config.mode == .pushToTalk)
        emit = onEvent
    }

    /// Listens to `source` until it ends (or the calling task is cancelled), answering commands.
    /// Returns after the last reply has been spoken.
    /// - Parameter lossless: for unpaced files: capture waits for recognition (see `Listener`).
    /// - Parameters:
    ///   - lossless: for unpaced files: capture waits for recognition (see `Listener`).
    ///   - statistics: counts answers given on a pause and at the endpoint, if given.
    ///   - listenStatistics: the listener's per-utterance timings, if given.
    public func run(from source: any AudioSourcing, lossless: Bool = false, statistics: AssistantStatistics? = nil,
                    listenStatistics: ListenStatistics? = nil) async throws {
        let heard: any AudioSourcing = GatedAudioSource(source, gate: gate)
        let timers = config.announcesTimers ? responder.context.timers.map(announceTimers) : nil
        defer { timers?.cancel() }
        let statistics = statistics ?? AssistantStatistics()
        var state = ConversationState()
        for try await event in listener.events(from: heard, lossless: lossless, statistics: listenStatistics) {
            switch event {
            case let .speechStart(time):
                state.utterance = UtteranceState(start: time)
            case let .partial(text, _):
                if let shown = state.partial(text, pipeline: self) { emit(.partial(text: shown)) }
            case let .pause(text, start, end, alternatives):
                guard config.actsOnPauses, state.utterance?.early == nil,
                      let command = state.command(in: text, start: start, pipeline: self),
                      let intent = responder.intentAnswerableOnPause(command) else { continue }
                // A fast decode's words are acted on only when its check reads the same command.
                guard alternatives.allSatisfy({ alternative in
                    state.command(in: alternative, start: start, pipeline: self)
                        .flatMap(responder.acceptedIntent)?.means(sameAs: intent) ?? false
                }) else {
                    statistics.record(.disputedPause)
                    continue
                }
                // Reports wake and final, and closes the follow-on window, as the final would.
                _ = state.final(text, start: start, end: end, pipeline: self)
                state.utterance?.early = text
                statistics.record(.early)
                _ = await respond(toCommand: command)
            case let .final(text, start, end):
                if let early = state.utterance?.early {
                    if let added = state.afterEarlyAnswer(early, final: text, start: start, end: end, pipeline: self,
                                                          statistics: statistics) {
                        statistics.record(.followOn)
                        _ = await respond(toCommand: added)
                    }
                } else if let command = state.final(text, start: start, end: end, pipeline: self) {
                    statistics.record(.endpoint)
                    _ = await respond(toCommand: command)
                }
            case .speechEnd:
                state.utterance = nil
            case let .warning(message):
                emit(.error(message: message))
            }
        }
    }

    /// Answers a command as if it had been spoken (the API's `ask`): intent and reply events,
    /// the reply spoken when `speak` is true. Returns the reply text (nil after an error, which
    /// is reported as an `error` event).
    @discardableResult
    public func respond(toCommand text: String, speak: Bool = true) async -> String? {
        let voice = speak ? SentenceSpeaker(pipeline: self) : nil
        var splitter = SentenceSplitter()
        var reply: String?
        do {
            for try await event in responder.respond(to: text) {
                emit(event)
                switch event {
                case let .replyPiece(piece, _):
                    for sentence in splitter.add(piece) { voice?.say(sentence) }
                case let .reply(full, _, _):
                    reply = full
                    // The rest, unless the responder dropped it (a sentence cut by the token limit).
                    let rest = splitter.remainder
                    if !rest.isEmpty && full.hasSuffix(rest) { voice?.say(rest) }
                default:
                    break
                }
            }
        } catch {
            emit(.error(message: "could not answer \"\(text)\": \(error)"))
        }
        await voice?.finish()
        return reply
    }

    /// Speaks `text` with the microphone gated (the API's `say`, timer alerts).
    public func say(_ text: String) async {
        let voice = SentenceSpeaker(pipeline: self)
        voice.say(text)
        await voice.finish()
    }

    /// Rings the center's timers as they go off: a `timer` event, then a spoken alert.
    private func announceTimers(_ center: TimerCenter) -> Task<Void, Never> {
        Task { [self] in
            for await fired in TimerAlarms.firings(of: center) {
                emit(TimerAlarms.event(for: fired))
                await say(TimerAlarms.alert(for: fired))
            }
        }
    }
}

/// The utterance being heard: when it started, whether the wake phrase was seen in it, and
/// the transcript answered on a pause, if any.
struct UtteranceState {
    var start: Double
    var woke = false
    var early: String?
}

/// How the assistant's answers to spoken commands came about (thread-safe; read at any time).
public final class AssistantStatistics: @unchecked Sendable {
    /// What became of a spoken command.
    public enum Answer: Sendable {
        /// On a pause, before the endpoint (a complete intent).
        case early
        /// At the endpoint (no early answer: no pause transcript, or not a complete intent).
        case endpoint
        /// After an early answer, words added after the pause that form an intent of their own.
        case followOn
        /// After an early answer, the final's words differed (not the early words plus more).
        case earlyMismatch
        /// Not answered on a fast pause decode: its check read another command, or none.
        case disputedPause
    }

    private let lock = NSLock()
    private var counts: [Answer: Int] = [:]

    public init() {}

    public var earlyAnswers: Int { lock.withLock { counts[.early, default: 0] } }
    public var endpointAnswers: Int { lock.withLock { counts[.endpoint, default: 0] } }
    public var followOnAnswers: Int { lock.withLock { counts[.followOn, default: 0] } }
    public var earlyMismatches: Int { lock.withLock { counts[.earlyMismatch, default: 0] } }
    public var disputedPauses: Int { lock.withLock { counts[.disputedPause, default: 0] } }

    func record(_ answer: Answer) { lock.withLock { counts[answer, default: 0] += 1 } }
}

/// What the pipeline remembers between utterances: the follow-on window after a wake phrase.
struct ConversationState {
    var utterance: UtteranceState?
    /// After the wake phrase alone: an utterance starting before this time is the command.
    var awakeUntil: Double?

    func isAwake(at time: Double) -> Bool { awakeUntil.map { time <= $0 } ?? false }

    /// The partial to report, if the utterance is addressed to Hark (reporting the wake event
    /// the first time the phrase shows up).
    mutating func partial(_ text: String, pipeline: AssistantPipeline) -> String? {
        guard pipeline.config.mode == .wake else { return text }
        let start = utterance?.start ?? 0
        if isAwake(at: start) || utterance?.woke == true { return text }
        guard let match = pipeline.wakePhrase.match(text) else { return nil }
        utterance?.woke = true
        pipeline.emit(.wake(phrase: match.heard, time: start))
        return text
    }

    /// The command `text` holds if it were the utterance's final (nothing reported or changed).
    func command(in text: String, start: Double, pipeline: AssistantPipeline) -> String? {
        let match = pipeline.wakePhrase.match(text)
        switch pipeline.config.mode {
        case .always, .pushToTalk: return Self.command(match?.remainder ?? text)
        case .wake:
            if let match { return Self.command(match.remainder) }
            return isAwake(at: start) ? Self.command(text) : nil
        }
    }

    /// The utterance's final after it was answered on a pause (`early` is the text answered):
    /// reports the corrected `final` when the words changed, and returns the words added after
    /// the early ones when they form an intent of their own (see `AssistantPipeline`).
    mutating func afterEarlyAnswer(_ early: String, final text: String, start: Double, end: Double,
                                   pipeline: AssistantPipeline, statistics: AssistantStatistics) -> String? {
        let earlyWords = Self.words(early), finalWords = Self.words(text)
        guard finalWords != earlyWords else { return nil }
        pipeline.emit(.final(text: text, start: start, end: end))
        guard finalWords.starts(with: earlyWords) else {
            statistics.record(.earlyMismatch)
            return nil
        }
        let added = finalWords.dropFirst(earlyWords.count).joined(separator: " ")
        return pipeline.responder.acceptedIntent(added) != nil ? added : nil
    }

    /// Lowercased words without punctuation, for comparing transcripts.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    /// The command in a final transcript, if any, after reporting `wake` and `final`.
    mutating func final(_ text: String, start: Double, end: Double, pipeline: AssistantPipeline) -> String? {
        let match = pipeline.wakePhrase.match(text)
        switch pipeline.config.mode {
        case .always, .pushToTalk:
            pipeline.emit(.final(text: text, start: start, end: end))
            // "Hey Hark, what time is it" said out of habit: the phrase is not part of the command.
            return Self.command(match?.remainder ?? text)
        case .wake:
            if let match {
                if utterance?.woke != true { pipeline.emit(.wake(phrase: match.heard, time: start)) }
                utterance?.woke = true
                pipeline.emit(.final(text: text, start: start, end: end))
                if let command = Self.command(match.remainder) {
                    awakeUntil = nil
                    return command
                }
                awakeUntil = end + pipeline.config.followOnSeconds
                return nil
            }
            guard isAwake(at: start) else { return nil }
            awakeUntil = nil
            pipeline.emit(.final(text: text, start: start, end: end))
            return Self.command(text)
        }
    }

    /// `text` when it holds a word.
    static func command(_ text: String) -> String? {
        text.contains { $0.isLetter || $0.isNumber } ? text.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}

/// Cuts streamed text into sentences to speak one by one (the first can play while the model
/// still writes the next).
struct SentenceSplitter {
    private var buffer = ""

    /// Complete sentences in the text so far: ending with . ! ? or a newline, followed by space.
    mutating func add(_ piece: String) -> [String] {
        buffer += piece
        var sentences: [String] = []
        var start = buffer.startIndex
        var i = buffer.startIndex
        while i < buffer.endIndex {
            let next = buffer.index(after: i)
            let ends = buffer[i] == "\n" || (".!?".contains(buffer[i]) && next < buffer.endIndex && buffer[next].isWhitespace)
            if ends {
                let sentence = buffer[start...i].trimmingCharacters(in: .whitespacesAndNewlines)
                if sentence.contains(where: { $0.isLetter || $0.isNumber }) { sentences.append(sentence) }
                start = next
            }
            i = next
        }
        buffer = String(buffer[start...])
        return sentences
    }

    /// What has not been returned yet, trimmed.
    var remainder: String { buffer.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Speaks sentences in order on its own task, with the microphone gated from the first
/// sentence until the last has played (plus the gate's tail), and `speaking` events around.
final class SentenceSpeaker: Sendable {
    private let continuation: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>

    init(pipeline: AssistantPipeline) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        self.continuation = continuation
        let speech = pipeline.speech, gate = pipeline.gate, emit = pipeline.emit
        let gates = pipeline.config.gateWhileSpeaking && speech.isAudible
        task = Task {
            var started = false
            for await sentence in stream {
                if !started && speech.isAudible {
                    started = true
                    if gates { gate.speakingStarted() }
                    emit(.speaking(started: true))
                }
                do { try await speech.speak(sentence) } catch { emit(.error(message: "could not speak: \(error)")) }
            }
            if started {
                if gates { gate.speakingEnded() }
                emit(.speaking(started: false))
            }
        }
    }

    func say(_ sentence: String) { continuation.yield(sentence) }

    /// Waits until everything said has been spoken.
    func finish() async {
        continuation.finish()
        await task.value
    }
}
