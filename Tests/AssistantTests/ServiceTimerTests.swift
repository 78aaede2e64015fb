import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing
import ASR
import VAD

/// Remembers what it was asked to say (audible: the pipeline gates the microphone for it).
final class RecordingSpeech: SpeechOutput, @unchecked Sendable {
    private let lock = NSLock()
    private var said: [String] = []
    let isAudible: Bool
    init(audible: Bool = true) { isAudible = audible }
    var spoken: [String] { lock.withLock { said } }
    func speak(_ text: String) async throws { lock.withLock { said.append(text) } }
}

/// These tests send no audio: a recognizer that is never called.
private struct NoRecognizer: SpeechRecognizing {
    struct Called: Error {}
    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript { throw Called() }
}

/// A service on a manual clock: the real pipeline, responder and skills (no language model,
/// no audio), a recording speech output, state in `dir`.
func makeTestService(dir: TemporaryDirectory, clock: ManualClock, speak: Bool = true) async throws -> (AssistantService, RecordingSpeech) {
    var config = ServiceConfig()
    config.stateDirectory = dir.url.path
    config.speak = speak
    let center = TimerCenter(clock: clock)
    let keeper = TimerKeeper(center: center, store: TimerStore(directory: dir.url.path))
    try await keeper.restore()
    let speech = RecordingSpeech(audible: speak)
    let relay = ServiceEventRelay(events: EventHub())
    var assistant = AssistantConfig()
    assistant.announcesTimers = false
    assistant.speakingTailMs = 0
    let pipeline = try AssistantPipeline(
        recognizer: NoRecognizer(), detector: EnergyVoiceActivityDetector(),
        responder: CommandResponder(intents: try IntentSet.standard(), timers: center, languageModel: nil),
        speech: speech, config: assistant, onEvent: relay.handle)
    let service = AssistantService(settings: .init(config: config, models: ["whisper": "test"], testClock: clock),
                                   pipeline: pipeline, keeper: keeper, relay: relay)
    return (service, speech)
}

@Suite struct ServiceTimerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Saved timers (set for 5 minutes) and alarms, each going off `offset` seconds from `start`.
    func entries(_ specs: [(ActiveTimer.Kind, String?, TimeInterval)]) -> [SavedTimer] {
        specs.enumerated().map { index, spec in
            SavedTimer(id: index + 1, kind: spec.0, name: spec.1, deadline: start + spec.2,
                       duration: spec.0 == .timer ? 300 : 0)
        }
    }

    @Test func storeRoundTripsAndReplacesTheFileAtomically() async throws {
        let dir = try TemporaryDirectory()
        let store = TimerStore(directory: dir.file("state").path)
        #expect(try store.load().isEmpty) // no file yet
        let timers = entries([(.timer, "pasta", 300.25), (.alarm, nil, 3600)])
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
        try store.save(entries([(.timer, "tea", -60), (.timer, "bread", 600), (.alarm, nil, 7200)]))
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

        // Four seconds later a second service on the same state folder (a restart) has it too,
        // with its deadline and the length it was set for.
        clock.advance(by: 4)
        let (restarted, restartedSpeaker) = try await makeTestService(dir: dir, clock: clock)
        let timers = try await restarted.reply(to: ServiceRequest(cmd: "timers"))
        let listed = try #require(timers["timers"] as? [[String: any Sendable]])
        #expect(listed.count == 1)
        #expect(listed.first?["remaining"] as? Double == 6)
        #expect(try TimerStore(directory: dir.url.path).load().map(\.duration) == [10])
        #expect(try TimerStore(directory: dir.url.path).load().map(\.deadline) == [start + 10])

        let early = try await restarted.reply(to: ServiceRequest(cmd: "advance", seconds: 5.5))
        #expect(early["rang"] as? Int == 0)
        let due = try await restarted.reply(to: ServiceRequest(cmd: "advance", seconds: 0.5))
        #expect(due["rang"] as? Int == 1)
        #expect(restartedSpeaker.spoken == ["Your timer for 10 seconds is done."])
        #expect(speaker.spoken == ["Timer set for 10 seconds."])
        #expect(try TimerStore(directory: dir.url.path).load().isEmpty)
    }
}
