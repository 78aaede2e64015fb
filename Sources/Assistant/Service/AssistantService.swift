import Foundation
import Intent
import Logging

/// The background service behind the API. It drives one `AssistantPipeline`: voice commands
/// reach it through the pipeline's listener; the API's `ask` goes through the very same
/// `respond(toCommand:)` (same responder, same events, same spoken reply); `say` and timer
/// alerts through its `say` (microphone gated while Hark speaks). It also rings and saves the
/// timers (the pipeline's own announcer must be off: `AssistantConfig.announcesTimers = false`,
/// so that each timer rings once, here, where it is also persisted).
///
/// ```swift
/// let relay = ServiceEventRelay(events: EventHub())
/// let pipeline = try AssistantPipeline(..., responder: responder, speech: speech, config: config,
///                                      onEvent: relay.handle)
/// let service = AssistantService(settings: settings, pipeline: pipeline, keeper: keeper, relay: relay)
/// let server = ControlSocketServer(path: path, handler: service, events: relay.events)
/// Task { await service.runTimers() }; try await pipeline.run(from: source)
/// ```
public final class AssistantService: ServiceRequestHandling, @unchecked Sendable {
    /// What `status` reports about the setup.
    public struct Settings: Sendable {
        public var config: ServiceConfig
        /// Model name per role ("whisper": "whisper-tiny.en", ...).
        public var models: [String: String]
        /// Set when the service runs on a test clock that `advance` moves.
        public var testClock: ManualClock?
        public init(config: ServiceConfig, models: [String: String], testClock: ManualClock? = nil) {
            self.config = config
            self.models = models
            self.testClock = testClock
        }
    }

    public let settings: Settings
    public let pipeline: AssistantPipeline
    public let keeper: TimerKeeper
    public let relay: ServiceEventRelay
    public var events: EventHub { relay.events }
    public let logger: Logger
    private let started = Date()
    private let lock = NSLock()
    private var busy = 0
    private var voiceState = "off"

    public init(settings: Settings, pipeline: AssistantPipeline, keeper: TimerKeeper, relay: ServiceEventRelay,
                logger: Logger = Logger(label: "hark.service")) {
        self.settings = settings
        self.pipeline = pipeline
        self.keeper = keeper
        self.relay = relay
        self.logger = logger
    }

    /// What the voice loop is doing, for `status`: "listening", "ended" (an input file is done), "off".
    public func setVoiceState(_ state: String) { lock.withLock { voiceState = state } }

    // MARK: API

    public func reply(to request: ServiceRequest) async throws -> [String: any Sendable] {
        try await reply(to: request, progress: { _ in })
    }

    public func reply(to request: ServiceRequest, progress: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> [String: any Sendable] {
        switch request.cmd {
        case "status": return await status()
        case "ask":
            let answer = try await ask(try text(of: request), streamTo: request.stream == true ? progress : nil)
            var reply: [String: any Sendable] = ["reply": answer.text, "source": answer.source, "succeeded": answer.succeeded]
            if let intent = answer.intent { reply["intent"] = intent }
            return reply
        case "say":
            return ["spoken": await say(try text(of: request))]
        case "mute", "unmute":
            let mute = request.cmd == "mute"
            pipeline.gate.setMuted(mute)
            logger.info("\(mute ? "muted" : "unmuted") by API request")
            return ["muted": mute]
        case "timers":
            return ["timers": await timerList()]
        case "advance":
            guard let clock = settings.testClock else { throw ServiceRequestError.noTestClock }
            guard let seconds = request.seconds, seconds >= 0, seconds.isFinite else { throw ServiceRequestError.badSeconds }
            clock.advance(by: seconds)
            return ["now": clock.now.timeIntervalSince1970, "rang": try await ringDue()]
        default:
            throw ServiceRequestError.unknownCommand(request.cmd)
        }
    }

    private func text(of request: ServiceRequest) throws -> String {
        guard let text = request.text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ServiceRequestError.missingText(command: request.cmd)
        }
        return text
    }

    func status() async -> [String: any Sendable] {
        [
            "uptime": (Date().timeIntervalSince(started) * 10).rounded() / 10,
            "mode": settings.config.mode.rawValue,
            "wake_phrase": settings.config.wakePhrase,
            "muted": pipeline.gate.isMuted,
            "speak": pipeline.speech.isAudible,
            "listening": lock.withLock { voiceState },
            "models": settings.models,
            "pending_timers": await keeper.pending().count,
            "history": settings.config.history,
            "pid": Int(getpid()),
        ]
    }

    func timerList() async -> [[String: any Sendable]] {
        let now = await keeper.center.now
        return await keeper.pending().map { timer in
            var entry: [String: any Sendable] = [
                "id": timer.id, "kind": timer.kind.rawValue,
                "deadline": ISO8601DateFormatter().string(from: timer.deadline),
                "remaining": max(0, (timer.deadline.timeIntervalSince(now) * 10).rounded() / 10),
            ]
            if let name = timer.name { entry["name"] = name }
            return entry
        }
    }

    // MARK: Answering and speaking

    /// Answers typed `text` exactly as a spoken command (events to subscribers, reply spoken).
    /// - Parameter streamTo: also receives each `replyPiece` event as it is produced.
    public func ask(_ text: String, streamTo: (@Sendable ([String: any Sendable]) -> Void)? = nil) async throws -> AskResult {
        lock.withLock { busy += 1 }
        defer { lock.withLock { busy -= 1 } }
        let collector = AskCollector(progress: streamTo)
        let reply = await ServiceEventRelay.$currentAsk.withValue(collector) {
            await pipeline.respond(toCommand: text)
        }
        try await keeper.saveIfChanged()
        let result = collector.result
        guard let reply else { throw ServiceRequestError.couldNotAnswer(result.error ?? "no reply") }
        logger.info("asked", metadata: ["intent": "\(result.intent ?? "-")", "source": "\(result.source)"])
        return AskResult(text: reply, intent: result.intent, source: result.source, succeeded: result.succeeded)
    }

    /// Speaks `text` (microphone gated); false when speech is off.
    public func say(_ text: String) async -> Bool {
        guard pipeline.speech.isAudible else { return false }
        lock.withLock { busy += 1 }
        defer { lock.withLock { busy -= 1 } }
        await pipeline.say(text)
        return true
    }

    /// Whether an answer or speech is under way (API or voice).
    public var isReplying: Bool { lock.withLock { busy } > 0 || relay.isReplying }

    /// Waits until no reply is being produced or spoken, at most `timeout` seconds.
    public func finishCurrentReplies(timeout: TimeInterval) async {
        let deadline = Date() + timeout
        while isReplying && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: Timers

    /// Rings what is due and saves the timers, every `interval` until cancelled.
    public func runTimers(interval: Duration = .milliseconds(100)) async {
        while !Task.isCancelled {
            do { _ = try await ringDue() } catch { logger.error("timers: \(error)") }
            try? await Task.sleep(for: interval)
        }
    }

    /// Announces what has come due (a `timer` event, then the spoken alert) and saves;
    /// returns how many rang.
    @discardableResult
    func ringDue() async throws -> Int {
        try await keeper.saveIfChanged()
        let rung = try await keeper.ringDue()
        for timer in rung {
            logger.notice("timer \(timer.timer.id) rang\(timer.isLate ? " late" : "")")
            events.publish(timer.event)
            _ = await say(timer.announcement)
        }
        return rung.count
    }
}

/// The outcome of an `ask`.
public struct AskResult: Sendable, Equatable {
    public var text: String
    /// The matched intent, nil when the language model answered.
    public var intent: String?
    /// "skill" or "llm".
    public var source: String
    public var succeeded: Bool
}

/// Turns the pipeline's events into API events: every event goes to subscribers (and to the
/// history, when on); while an `ask` runs, its own events are also collected for its reply.
/// Pass `handle` as the pipeline's `onEvent`.
public final class ServiceEventRelay: @unchecked Sendable {
    public let events: EventHub
    private let lock = NSLock()
    private var history: FileHandle?
    private var replying = false
    private var speaking = 0

    /// The `ask` whose task is running (the pipeline emits from the caller's task, so a task
    /// local tells an ask's events from voice ones).
    @TaskLocal static var currentAsk: AskCollector?

    /// - Parameter historyFile: append `final` and `reply` events here (nil: keep nothing).
    public init(events: EventHub, historyFile: String? = nil) {
        self.events = events
        if let historyFile { history = Self.open(historyFile) }
    }

    public func handle(_ event: AssistantEvent) {
        Self.currentAsk?.record(event)
        lock.withLock {
            switch event {
            case .intent, .replyPiece: replying = true
            case .reply: replying = false
            case let .speaking(started): speaking = max(0, speaking + (started ? 1 : -1))
            default: break
            }
        }
        let line = Data((event.json + "\n").utf8)
        switch event {
        case .final, .reply: lock.withLock { history?.write(line) }
        default: break
        }
        events.publish(line: line)
    }

    /// A voice reply is being produced or spoken.
    var isReplying: Bool { lock.withLock { replying || speaking > 0 } }

    private static func open(_ path: String) -> FileHandle? {
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return nil }
        handle.seekToEndOfFile()
        return handle
    }
}

/// Collects one `ask`'s intent, source and outcome, and streams its pieces to the asker.
final class AskCollector: @unchecked Sendable {
    struct Result {
        var intent: String?
        var source = "skill"
        var succeeded = true
        var error: String?
    }
    private let lock = NSLock()
    private var collected = Result()
    private let progress: (@Sendable ([String: any Sendable]) -> Void)?

    init(progress: (@Sendable ([String: any Sendable]) -> Void)?) { self.progress = progress }

    var result: Result { lock.withLock { collected } }

    func record(_ event: AssistantEvent) {
        switch event {
        case let .intent(name, _, _): lock.withLock { collected.intent = name }
        case let .replyPiece(text, source): progress?(["event": "replyPiece", "text": text, "source": source.rawValue])
        case let .reply(_, source, succeeded): lock.withLock { collected.source = source.rawValue; collected.succeeded = succeeded }
        case let .error(message): lock.withLock { collected.error = message }
        default: break
        }
    }
}

/// Requests the service understands but cannot carry out as sent.
public enum ServiceRequestError: Error, Sendable, CustomStringConvertible {
    case unknownCommand(String)
    case missingText(command: String)
    case noTestClock
    case badSeconds
    case couldNotAnswer(String)

    public var description: String {
        switch self {
        case .unknownCommand(let name):
            "unknown command '\(name)' (known: status, ask, say, mute, unmute, timers, subscribe)"
        case .missingText(let command):
            "'\(command)' needs a non-empty \"text\""
        case .noTestClock:
            "'advance' only works when the service runs with --test-clock"
        case .badSeconds:
            "'advance' needs \"seconds\": a number >= 0"
        case .couldNotAnswer(let message):
            "could not answer: \(message)"
        }
    }
}
