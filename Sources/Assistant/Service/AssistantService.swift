import Foundation
import Intent
import Logging

/// One answer to a command, typed (`ask`) or spoken.
public struct ServiceAnswer: Sendable, Equatable {
    /// The whole reply text.
    public var text: String
    /// The intent that answered, or nil when the language model did.
    public var intent: String?
    /// "skill", "llm" or "none" (nothing could answer).
    public var source: String
    public init(text: String, intent: String?, source: String) {
        self.text = text
        self.intent = intent
        self.source = source
    }
}

/// Text in, answer out, reporting `intent` and `reply` events (and reply pieces) on the way.
/// The service's `ask` and the voice pipeline go through the same one (the pipeline's
/// `CommandResponder`, adapted by `ResponderAnswering`).
public protocol CommandAnswering: Sendable {
    func answer(_ text: String, event: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> ServiceAnswer
}

/// Speaks a reply or an alert (espeak-ng through ALSA in the service; a recorder in tests).
public protocol ReplySpeaking: Sendable {
    func speak(_ text: String) async throws
}

/// The assistant's voice loop as the service sees it: it can be muted (audio still flows,
/// nothing is acted on) and says what it is doing.
public protocol VoiceControlling: Sendable {
    /// "listening", "muted", "speaking", "stopped", ...
    var listeningState: String { get }
    func setMuted(_ muted: Bool)
}

/// The background service's brain behind the API: answers `status`, `ask`, `say`, `mute`,
/// `unmute`, `timers` (and `advance` with a test clock), rings timers, and saves them.
///
/// ```swift
/// let service = AssistantService(settings: .init(config: config, models: [...]), answering: responder,
///                                speaker: speech, keeper: keeper, events: hub, logger: logger)
/// let server = ControlSocketServer(path: config.resolvedSocket, handler: service, events: hub)
/// let ticking = Task { await service.runTimers() }
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
    public let answering: any CommandAnswering
    public let speaker: (any ReplySpeaking)?
    public let keeper: TimerKeeper
    public let events: EventHub
    public let logger: Logger
    private let started = Date()
    private let lock = NSLock()
    private var muted = false
    private var voice: (any VoiceControlling)?
    private var busy = 0
    private var historyFile: FileHandle?

    public init(settings: Settings, answering: any CommandAnswering, speaker: (any ReplySpeaking)?,
                keeper: TimerKeeper, events: EventHub, logger: Logger = Logger(label: "hark.service")) {
        self.settings = settings
        self.answering = answering
        self.speaker = speaker
        self.keeper = keeper
        self.events = events
        self.logger = logger
        if settings.config.history { historyFile = Self.openHistory(in: settings.config.resolvedStateDirectory, logger: logger) }
    }

    /// Attaches the voice loop (so `mute` reaches it and `status` reports it).
    public func attach(voice: any VoiceControlling) {
        lock.withLock { self.voice = voice }
        voice.setMuted(isMuted)
    }

    public var isMuted: Bool { lock.withLock { muted } }

    // MARK: API

    public func reply(to request: ServiceRequest) async throws -> [String: any Sendable] {
        try await reply(to: request, progress: { _ in })
    }

    public func reply(to request: ServiceRequest, progress: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> [String: any Sendable] {
        switch request.cmd {
        case "status": return await status()
        case "ask":
            guard let text = request.text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw ServiceRequestError.missingText(command: "ask")
            }
            let answer = try await answer(text, streamTo: request.stream == true ? progress : nil)
            var reply: [String: any Sendable] = ["reply": answer.text, "source": answer.source]
            if let intent = answer.intent { reply["intent"] = intent }
            return reply
        case "say":
            guard let text = request.text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw ServiceRequestError.missingText(command: "say")
            }
            let spoken = try await speak(text)
            return ["spoken": spoken]
        case "mute", "unmute":
            let mute = request.cmd == "mute"
            let voice = lock.withLock { () -> (any VoiceControlling)? in
                muted = mute
                return self.voice
            }
            voice?.setMuted(mute)
            logger.info("\(mute ? "muted" : "unmuted") by API request")
            return ["muted": mute]
        case "timers":
            return ["timers": await timerList()]
        case "advance":
            guard let clock = settings.testClock else { throw ServiceRequestError.noTestClock }
            guard let seconds = request.seconds, seconds >= 0, seconds.isFinite else {
                throw ServiceRequestError.badSeconds
            }
            clock.advance(by: seconds)
            let rung = try await ringDue()
            return ["now": clock.now.timeIntervalSince1970, "rang": rung]
        default:
            throw ServiceRequestError.unknownCommand(request.cmd)
        }
    }

    func status() async -> [String: any Sendable] {
        let (isMuted, voice) = lock.withLock { (muted, self.voice) }
        return [
            "uptime": (Date().timeIntervalSince(started) * 10).rounded() / 10,
            "mode": settings.config.mode.rawValue,
            "wake_phrase": settings.config.wakePhrase,
            "muted": isMuted,
            "speak": settings.config.speak && speaker != nil,
            "listening": voice?.listeningState ?? "off",
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

    /// Answers `text` (typed or transcribed) the same way for both: events on the hub, the
    /// reply spoken (unless speaking is off), timers saved if the answer changed them.
    /// - Parameter streamTo: also receives `piece` events (a streaming `ask`).
    public func answer(_ text: String, streamTo: (@Sendable ([String: any Sendable]) -> Void)? = nil) async throws -> ServiceAnswer {
        lock.withLock { busy += 1 }
        defer { lock.withLock { busy -= 1 } }
        let hub = events
        let answer = try await answering.answer(text) { event in
            if event["event"] as? String == "piece" {
                streamTo?(event)
            } else {
                hub.publish(event)
            }
        }
        logger.info("answered", metadata: ["intent": "\(answer.intent ?? "-")", "source": "\(answer.source)"])
        record(["heard": text, "reply": answer.text, "intent": answer.intent ?? ""])
        try await saveTimers()
        _ = try await speak(answer.text)
        return answer
    }

    /// Speaks `text` when speaking is on; true if it was spoken.
    @discardableResult
    public func speak(_ text: String) async throws -> Bool {
        guard settings.config.speak, let speaker else { return false }
        lock.withLock { busy += 1 }
        defer { lock.withLock { busy -= 1 } }
        try await speaker.speak(text)
        return true
    }

    /// Answers and speeches in progress (shutdown waits for them).
    public var activeReplies: Int { lock.withLock { busy } }

    /// Waits until no reply is being produced or spoken, at most `timeout` seconds.
    public func finishCurrentReplies(timeout: TimeInterval) async {
        let deadline = Date() + timeout
        while activeReplies > 0 && Date() < deadline {
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

    /// Announces what has come due (event + spoken alert) and saves; returns how many rang.
    @discardableResult
    func ringDue() async throws -> Int {
        try await keeper.saveIfChanged()
        let rung = try await keeper.ringDue()
        for timer in rung {
            logger.notice("timer \(timer.timer.id) rang\(timer.lateBy >= RungTimer.lateThreshold ? " late" : "")")
            events.publish(timer.event)
            do { try await speak(timer.announcement) } catch { logger.error("speaking the timer alert: \(error)") }
        }
        return rung.count
    }

    /// Saves the timers now if they changed.
    public func saveTimers() async throws {
        try await keeper.saveIfChanged()
    }

    // MARK: History (off by default)

    private static func openHistory(in directory: String, logger: Logger) -> FileHandle? {
        let path = directory + "/history.jsonl"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            return handle
        } catch {
            logger.error("history is on but \(path) cannot be opened: \(error)")
            return nil
        }
    }

    private func record(_ entry: [String: String]) {
        guard let historyFile else { return }
        var object: [String: any Sendable] = entry
        object["time"] = ISO8601DateFormatter().string(from: Date())
        guard let line = try? JSONLine.encode(object) else { return }
        lock.withLock { historyFile.write(line) }
    }
}

/// Requests the service understands but cannot carry out as sent.
public enum ServiceRequestError: Error, Sendable, CustomStringConvertible {
    case unknownCommand(String)
    case missingText(command: String)
    case noTestClock
    case badSeconds

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
        }
    }
}
