import Foundation
import Intent
import LLM

/// Text in, reply events out: the intent recognizer and its skills first; when no intent
/// matches, the local language model (streamed, bounded length). The same path serves typed
/// questions (`hark ask`), spoken commands (`hark assist`) and API clients (`hark serve`).
///
/// ```swift
/// let timers = TimerCenter()
/// let responder = CommandResponder(intents: try IntentSet.standard(), timers: timers,
///                                  languageModel: LanguageModelHost { try LocalAssistantLLM(modelURL: url) })
/// for try await event in responder.respond(to: "set a timer for ten seconds") { print(event.json) }
/// // {"event":"intent",...} {"event":"timer",...} {"event":"replyPiece",...} {"event":"reply",...}
/// ```
///
/// Threading: safe to call from several tasks; skills run concurrently, questions to the
/// language model are answered one at a time (see `LanguageModelHost`).
public final class CommandResponder: Sendable {
    /// What answers; every field has a default.
    public struct Options: Sendable {
        /// Try the intents and skills first (off: every question goes to the model).
        public var useSkills = true
        /// Let the language model answer when no intent matches (off: a polite refusal).
        public var useLanguageModel = true
        /// Sampling for the model: short and nearly greedy suits spoken replies from a small model.
        public var generation: GenerationConfig = CommandResponder.spokenReplyGeneration
        /// Said when nothing can answer (no intent matched and the model is off).
        public var noAnswerReply = "Sorry, I can't help with that."
        public init() {}
        public static let `default` = Options()
    }

    /// 96 tokens (about 70 words, 25 s of speech), temperature 0.2: `hark ask`'s defaults.
    public static var spokenReplyGeneration: GenerationConfig {
        var config = GenerationConfig(temperature: 0.2)
        config.maxTokens = 96
        return config
    }

    public let intentResponder: IntentResponder
    /// The skills' view of the world; its `timers` is the center passed in.
    public let context: SkillContext
    public let languageModel: LanguageModelHost?
    public let options: Options

    /// - Parameters:
    ///   - timers: where timer skills set and cancel timers; nil means timers are unavailable
    ///     (the skill says they need the service).
    ///   - context: clock, calendar, notes and mixer for the skills (its `timers` is replaced).
    ///   - languageModel: answers what no intent covers; nil is the same as `useLanguageModel = false`.
    public init(intents: IntentSet, timers: TimerCenter?, context: SkillContext = SkillContext(),
                languageModel: LanguageModelHost?, options: Options = .default,
                recognizerOptions: RecognizerOptions = .default) {
        intentResponder = IntentResponder(intents: intents, options: recognizerOptions)
        var context = context
        context.timers = timers
        self.context = context
        self.languageModel = languageModel
        self.options = options
    }

    /// The matched intent and its skill's reply, or nil when no intent is accepted (or skills are off).
    public func skillAnswer(_ text: String) async -> (intent: ParsedIntent, reply: SkillReply)? {
        guard options.useSkills else { return nil }
        return await intentResponder.respond(to: text, context: context)
    }

    /// The intent `text` is a complete command for (accepted by the intent parser, every slot
    /// of its template filled), or nil; nothing is run. Nil when skills are off.
    public func acceptedIntent(_ text: String) -> ParsedIntent? {
        guard options.useSkills else { return nil }
        return intentResponder.recognizer.recognize(text.trimmingCharacters(in: .whitespacesAndNewlines)).intent
    }

    /// Whether `intent` fills a free-text slot: such a command is never known to be over before
    /// its endpoint ("remind me to buy" may go on "... milk"), so it is not answered on a pause.
    public func hasFreeText(_ intent: ParsedIntent) -> Bool {
        guard let definition = intentResponder.recognizer.intents.intent(named: intent.name) else { return false }
        return !definition.freeTextSlots.isDisjoint(with: intent.slots.keys)
    }

    /// The intent `text` is a complete command for (`acceptedIntent`) when it fills no free-text
    /// slot (`hasFreeText`): a command that may be answered on a pause, before its endpoint.
    public func intentAnswerableOnPause(_ text: String) -> ParsedIntent? {
        guard let intent = acceptedIntent(text), !hasFreeText(intent) else { return nil }
        return intent
    }

    /// Answers `text`: `intent` (when one matches), `timer` (when a timer or alarm was set),
    /// `replyPiece`s, then exactly one `reply`. Errors of the language model end the stream
    /// with a throw (after any pieces already sent). Cancelling the consumer stops generation.
    public func respond(to text: String) -> AsyncThrowingStream<AssistantEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<AssistantEvent, Error>.makeStream()
        let task = Task { [self] in
            do {
                try await answer(text) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func answer(_ text: String, emit: @Sendable (AssistantEvent) -> Void) async throws {
        let question = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let (intent, reply) = await skillAnswer(question) {
            emit(.intent(name: intent.name, slots: intent.slots.mapValues(\.canonical), confidence: intent.confidence))
            if reply.succeeded, let timer = Self.timerSet(by: intent, reply: reply) { emit(timer) }
            emit(.replyPiece(text: reply.text, source: .skill))
            emit(.reply(text: reply.text, source: .skill, succeeded: reply.succeeded))
            return
        }
        guard options.useLanguageModel, let languageModel, !question.isEmpty else {
            emit(.replyPiece(text: options.noAnswerReply, source: .skill))
            emit(.reply(text: options.noAnswerReply, source: .skill, succeeded: false))
            return
        }
        let full = try await languageModel.answer(question, config: options.generation) { piece in
            emit(.replyPiece(text: piece, source: .llm))
        }
        emit(.reply(text: full, source: .llm, succeeded: true))
    }

    /// The `timer` event for a reply that set a timer or alarm (the skill puts its id in `data`).
    static func timerSet(by intent: ParsedIntent, reply: SkillReply) -> AssistantEvent? {
        let kind: String
        switch intent.name {
        case "SetTimer": kind = "timer"
        case "SetAlarm": kind = "alarm"
        default: return nil
        }
        guard let id = reply.data["id"].flatMap(Int.init) else { return nil }
        let name: String? = if case let .text(n)? = intent.slots["name"]?.payload { n } else { nil }
        return .timer(id: id, kind: kind, name: name, fired: false)
    }
}

/// The local language model, loaded once on first use (or by `load()` at start-up) and asked
/// one question at a time: the model's KV cache belongs to one conversation.
public final class LanguageModelHost: @unchecked Sendable {
    private let loader: @Sendable () throws -> LocalAssistantLLM
    private let lock = NSLock()
    private var loaded: LocalAssistantLLM?
    private let turn = AsyncTurnstile()

    /// `loader` runs once, on the first question (or `load()`).
    public init(loader: @escaping @Sendable () throws -> LocalAssistantLLM) { self.loader = loader }

    /// Loads from a GGUF file with `threads` threads.
    public convenience init(modelURL: URL, threads: Int = 2) {
        self.init { try LocalAssistantLLM(modelURL: modelURL, threads: threads) }
    }

    /// Loads the model now (so the first answer is not slowed by loading). Idempotent.
    @discardableResult
    public func load() throws -> LocalAssistantLLM {
        try lock.withLock {
            if let loaded { return loaded }
            let model = try loader()
            loaded = model
            return model
        }
    }

    /// Streams the answer to `question` through `onPiece` and returns the whole reply, trimmed;
    /// when the token limit cut it mid-sentence, the unfinished sentence is dropped from the
    /// returned text (the pieces were already sent).
    public func answer(_ question: String, config: GenerationConfig,
                       onPiece: @Sendable (String) -> Void) async throws -> String {
        try await turn.run {
            let model = try await Task.detached { try self.load() }.value
            var text = ""
            for try await piece in model.answer(question, config: config) {
                try Task.checkCancellation()
                text += piece
                onPiece(piece)
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return model.lastStopReason == .maxTokens ? Self.completeSentences(trimmed) : trimmed
        }
    }

    /// The text up to its last sentence end, when it has one; else the text unchanged.
    public static func completeSentences(_ text: String) -> String {
        guard let end = text.lastIndex(where: { ".!?".contains($0) }) else { return text }
        return String(text[...end])
    }
}

/// Runs async closures one at a time, in arrival order (an async mutex).
final class AsyncTurnstile: @unchecked Sendable {
    private let lock = NSLock()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let proceed: Bool = lock.withLock {
                if busy { waiting.append(c); return false }
                busy = true
                return true
            }
            if proceed { c.resume() }
        }
    }

    private func leave() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if waiting.isEmpty { busy = false; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}
