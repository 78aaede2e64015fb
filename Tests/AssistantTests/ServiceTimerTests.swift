import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing

/// The service's own skills-only answering for tests: the real intent parser and skills (with
/// the service's timer center), no language model.
struct SkillsAnswering: CommandAnswering {
    let responder: IntentResponder
    let context: SkillContext

    init(timers: TimerCenter) throws {
        responder = IntentResponder(intents: try IntentSet.standard(extraFiles: []))
        context = SkillContext(now: { Date() }, timers: timers)
    }

    func answer(_ text: String, event: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> ServiceAnswer {
        guard let (intent, reply) = await responder.respond(to: text, context: context) else {
            event(["event": "reply", "text": "No skill for that.", "source": "none"])
            return ServiceAnswer(text: "No skill for that.", intent: nil, source: "none")
        }
        event(["event": "intent", "intent": intent.name])
        for word in reply.text.split(separator: " ") { event(["event": "piece", "text": String(word) + " "]) }
        event(["event": "reply", "text": reply.text, "source": "skill"])
        return ServiceAnswer(text: reply.text, intent: intent.name, source: "skill")
    }
}

/// Remembers what it was asked to say.
final class RecordingSpeaker: ReplySpeaking, @unchecked Sendable {
    private let lock = NSLock()
    private var said: [String] = []
    var spoken: [String] { lock.withLock { said } }
    func speak(_ text: String) async throws { lock.withLock { said.append(text) } }
}

/// A service on a manual clock with real skills, a recording speaker, state in `dir`.
func makeTestService(dir: TemporaryDirectory, clock: ManualClock, speak: Bool = true) async throws -> (AssistantService, RecordingSpeaker) {
    var config = ServiceConfig()
    config.stateDirectory = dir.url.path
    config.speak = speak
    let center = TimerCenter(clock: clock)
    let keeper = TimerKeeper(center: center, store: TimerStore(directory: dir.url.path))
    try await keeper.restore()
    let speaker = RecordingSpeaker()
    let service = AssistantService(settings: .init(config: config, models: ["whisper": "test"], testClock: clock),
                                   answering: try SkillsAnswering(timers: center), speaker: speaker,
                                   keeper: keeper, events: EventHub())
    return (service, speaker)
}

@Suite struct ServiceTimerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Timers and alarms (`ActiveTimer` has no public initializer: a center makes them), each
    /// going off `offset` seconds from `start`.
    func entries(_ specs: [(ActiveTimer.Kind, String?, TimeInterval)]) async -> [ActiveTimer] {
        let center = TimerCenter(clock: ManualClock(start))
        var made: [ActiveTimer] = []
        for (kind, name, offset) in specs {
            made.append(kind == .timer ? await center.startTimer(duration: offset, name: name)
                                       : await center.setAlarm(at: start + offset, name: name))
        }
        return made
    }

    @Test func storeRoundTripsAndReplacesTheFileAtomically() async throws {
        let dir = try TemporaryDirectory()
        let store = TimerStore(directory: dir.file("state").path)
        #expect(try store.load().isEmpty) // no file yet
        let timers = await entries([(.timer, "pasta", 300.25), (.alarm, nil, 3600)])
        try store.save(timers)
        #expect(try store.load() == timers)
        try store.save([])
        #expect(try store.load().isEmpty)
        // Only the file itself remains: the temporary was renamed over it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("state").path) == ["timers.json"])
    }

    @Test func aCorruptFileIsAnErrorNamingIt() throws {
        let dir = try TemporaryDirectory()
        let store = TimerStore(directory: dir.url.path)
        try Data("{\"version\": 1, \"timers\": [{\"id\": \"x\"".utf8).write(to: store.url)
        #expect {
            try store.load()
        } throws: { error in
            "\(error)".contains(store.url.path) && "\(error)".contains("not a timers file")
        }
        try Data("{\"version\": 9, \"timers\": []}".utf8).write(to: store.url)
        #expect(throws: AssistantError.self) { try store.load() }
    }

    @Test func restoreKeepsDeadlinesAndRingsWhatCameDueWhileStopped() async throws {
        let dir = try TemporaryDirectory()
        let store = TimerStore(directory: dir.url.path)
        try store.save(await entries([(.timer, "tea", -60), (.timer, "bread", 600), (.alarm, nil, 7200)]))
        let clock = ManualClock(start)
        let keeper = TimerKeeper(center: TimerCenter(clock: clock), store: store)
        #expect(try await keeper.restore() == 3)
        let pending = await keeper.pending()
        #expect(pending.map(\.deadline) == [start - 60, start + 600, start + 7200])
        #expect(pending.map(\.name) == ["tea", "bread", nil])

        let rung = try await keeper.ringDue()
        #expect(rung.map(\.timer.name) == ["tea"])
        #expect(rung.first?.lateBy == 60)
        #expect(rung.first?.announcement == "Your tea timer is done. It ran out while Hark was not running.")
        #expect(rung.first?.event["late"] as? Bool == true)
        // The file no longer holds the rung timer.
        #expect(try store.load().map(\.name) == ["bread", nil])
    }

    @Test func aTimerSetByAskRingsWhenTheTestClockReachesItsDeadlineAndSurvivesARestart() async throws {
        let dir = try TemporaryDirectory()
        let clock = ManualClock(start)
        let (service, speaker) = try await makeTestService(dir: dir, clock: clock)
        let reply = try await service.reply(to: ServiceRequest(cmd: "ask", text: "set a timer for ten seconds"))
        #expect(reply["intent"] as? String == "SetTimer")
        #expect(reply["reply"] as? String == "Timer set for 10 seconds.")
        // Saved as soon as it was set.
        let saved = try TimerStore(directory: dir.url.path).load()
        #expect(saved.map(\.deadline) == [start + 10])

        // A second service on the same state folder (a restart) has it too.
        let (restarted, restartedSpeaker) = try await makeTestService(dir: dir, clock: clock)
        let timers = try await restarted.reply(to: ServiceRequest(cmd: "timers"))
        let listed = try #require(timers["timers"] as? [[String: any Sendable]])
        #expect(listed.count == 1)
        #expect(listed.first?["remaining"] as? Double == 10)

        let early = try await restarted.reply(to: ServiceRequest(cmd: "advance", seconds: 9.5))
        #expect(early["rang"] as? Int == 0)
        let due = try await restarted.reply(to: ServiceRequest(cmd: "advance", seconds: 0.5))
        #expect(due["rang"] as? Int == 1)
        #expect(restartedSpeaker.spoken == ["Your timer is done."])
        #expect(speaker.spoken == ["Timer set for 10 seconds."])
        #expect(try TimerStore(directory: dir.url.path).load().isEmpty)
    }
}
