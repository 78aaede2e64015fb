import ASR
import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing
import VAD

/// The pipeline's parts without models: wake phrase matching, the microphone gate, and the
/// wake/follow-on logic driven by a scripted recognizer over loud and quiet stretches.
@Suite struct PipelineWakePhraseTests {
    @Test func acceptsTheNearMissesWhisperWrites() throws {
        let wake = try WakePhrase("hey hark")
        for heard in ["Hey Hark.", "Hey, Hark!", "hey mark", "Hey hart", "A hark", "Hi Hark", "hay hark", "Heyhark", "HEY HARK"] {
            #expect(wake.match(heard) != nil, "\(heard)")
        }
    }

    @Test func rejectsOrdinarySpeech() throws {
        let wake = try WakePhrase("hey hark")
        for heard in ["hey", "Hey, how are you?", "a park is nice", "What time is it?", "hard work", "Hello.", "okay",
                      "yes", "go forward ten meters", "hey there"] {
            #expect(wake.match(heard) == nil, "\(heard)")
        }
    }

    @Test func remainderIsTheCommand() throws {
        let wake = try WakePhrase()
        #expect(wake.match("Hey Hark, what time is it?")?.remainder == "what time is it?")
        #expect(wake.match("Hey, Mark! Set a timer.")?.heard == "Hey, Mark!")
        #expect(wake.match("Hey, Mark! Set a timer.")?.remainder == "Set a timer.")
        #expect(wake.match("Hey Hark.")?.remainder == "")
        #expect(wake.match("Hey Hark.")?.distance == 0)
    }

    @Test func otherPhrasesAndBadOnes() throws {
        let computer = try WakePhrase("OK Computer")
        #expect(computer.text == "ok computer")
        #expect(computer.match("Okay computer, lights on") == nil || computer.match("ok computer lights on")?.remainder == "lights on")
        #expect(computer.match("ok computer lights on")?.remainder == "lights on")
        #expect(computer.recognizerPrompt == "Ok Computer.")
        #expect(throws: PipelineError.self) { try WakePhrase("  ,, ") }
        #expect(throws: PipelineError.self) { try WakePhrase("one two three four five") }
        #expect(throws: PipelineError.self) { try WakePhrase("hey hark", tolerance: 1.5) }
    }
}

@Suite struct PipelineGateTests {
    @Test func closedWhileSpeakingAndForTheTail() async throws {
        let gate = MicrophoneGate(tail: .milliseconds(150))
        #expect(gate.isOpen)
        gate.speakingStarted()
        gate.speakingStarted()
        gate.speakingEnded()
        #expect(!gate.isOpen, "one speaker is still talking")
        gate.speakingEnded()
        #expect(!gate.isOpen, "the tail")
        try await Task.sleep(for: .milliseconds(300))
        #expect(gate.isOpen)
    }

    @Test func pushToTalkAndMute() {
        let gate = MicrophoneGate(tail: .zero, pushToTalk: true)
        #expect(!gate.isOpen)
        #expect(gate.toggleTalking())
        #expect(gate.isOpen)
        gate.setMuted(true)
        #expect(!gate.isOpen)
        gate.setMuted(false)
        #expect(!gate.toggleTalking() && !gate.isOpen)
    }

    @Test func gatedSourceKeepsLengthAndSilences() throws {
        let gate = MicrophoneGate(tail: .zero)
        let source = GatedAudioSource(SamplesAudioSource(samples: [Float](repeating: 0.5, count: 1000), periodFrames: 400), gate: gate)
        #expect(try source.read() == [Float](repeating: 0.5, count: 400))
        gate.speakingStarted()
        #expect(try source.read() == [Float](repeating: 0, count: 400))
        gate.speakingEnded()
        #expect(try source.read() == [Float](repeating: 0.5, count: 200))
        #expect(try source.read() == nil)
    }
}

/// Returns the next scripted text for each final decode (partials are turned off).
final class ScriptedRecognizer: SpeechRecognizing, @unchecked Sendable {
    private let lock = NSLock()
    private var script: [String]
    init(_ script: [String]) { self.script = script }

    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        let text = lock.withLock { script.isEmpty ? "" : script.removeFirst() }
        let segment: [String: Any] = ["start": 0, "end": Double(samples.count) / 16000, "text": " " + text, "tokens": [Int](),
                                      "avgLogProb": -0.2, "noSpeechProb": 0.01, "temperature": 0, "compressionRatio": 1]
        let object: [String: Any] = ["segments": [segment], "text": text, "language": "en"]
        return try JSONDecoder().decode(Transcript.self, from: JSONSerialization.data(withJSONObject: object))
    }
}

/// Thread-safe event log.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [AssistantEvent] = []
    var onEvent: (@Sendable (AssistantEvent) -> Void)?
    func append(_ e: AssistantEvent) {
        lock.withLock { stored.append(e) }
        onEvent?(e)
    }
    var events: [AssistantEvent] { lock.withLock { stored } }
    /// Event names without the chatty ones (partials, reply pieces, speaking, warnings).
    var names: [String] { events.map(\.name).filter { !["partial", "replyPiece", "speaking", "error"].contains($0) } }
    var finals: [String] { events.compactMap { if case let .final(t, _, _) = $0 { t } else { nil } } }
    var intents: [String] { events.compactMap { if case let .intent(n, _, _) = $0 { n } else { nil } } }
    var replies: [String] { events.compactMap { if case let .reply(t, _, _) = $0 { t } else { nil } } }
}

@Suite struct PipelineWakeLogicTests {
    /// Quiet room noise with loud 0.8 s bursts (the "utterances") starting at `bursts` seconds.
    func bursts(at starts: [Double], length: Double) -> [Float] {
        var rng = SplitMix64(seed: 7)
        let count = Int(length * 16000)
        var samples = (0..<count).map { _ in Float(Double(rng.next() % 2000) / 2000 - 0.5) * 0.002 }
        for start in starts {
            for i in Int(start * 16000)..<min(count, Int((start + 0.8) * 16000)) {
                samples[i] = Float(Double(rng.next() % 2000) / 2000 - 0.5) * 0.5
            }
        }
        return samples
    }

    func run(_ script: [String], bursts starts: [Double], length: Double, mode: AssistantConfig.Mode = .wake,
             followOn: Double = 8) async throws -> EventLog {
        let dir = try TemporaryDirectory()
        let log = EventLog()
        var config = AssistantConfig()
        config.mode = mode
        config.followOnSeconds = followOn
        var listening = ListenerConfig()
        listening.partials = false
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(),
                                         context: SkillContext(notes: NoteStore(url: dir.file("n.json"))), languageModel: nil)
        let pipeline = try AssistantPipeline(recognizer: ScriptedRecognizer(script), detector: EnergyVoiceActivityDetector(),
                                             listenerConfig: listening, responder: responder, speech: SilentSpeechOutput(),
                                             config: config) { log.append($0) }
        try await pipeline.run(from: SamplesAudioSource(samples: bursts(at: starts, length: length)), lossless: true)
        return log
    }

    @Test func wakeAloneThenCommandWithinTheWindow() async throws {
        let log = try await run(["Hey Hark.", "What time is it?"], bursts: [1, 4], length: 7)
        #expect(log.names == ["wake", "final", "final", "intent", "reply"])
        #expect(log.intents == ["GetTime"])
        guard case let .wake(phrase, time) = log.events.first else { Issue.record("no wake"); return }
        #expect(phrase == "Hey Hark." && time > 0.5 && time < 1.2)
    }

    @Test func commandAfterTheWindowIsIgnored() async throws {
        let log = try await run(["Hey Hark.", "What time is it?"], bursts: [1, 6], length: 9, followOn: 2)
        #expect(log.names == ["wake", "final"])
        #expect(log.finals == ["Hey Hark."], "the late utterance is not reported either")
    }

    @Test func speechWithoutTheWakePhraseIsNotACommandNorReported() async throws {
        let log = try await run(["What time is it?", "Set a timer for ten seconds."], bursts: [1, 3], length: 5)
        #expect(log.events.isEmpty, "\(log.events)")
    }

    @Test func oneCommandPerWake() async throws {
        let log = try await run(["Hey Mark, what time is it?", "What time is it?"], bursts: [1, 3], length: 5)
        #expect(log.names == ["wake", "final", "intent", "reply"])
        #expect(log.finals == ["Hey Mark, what time is it?"])
    }

    @Test func alwaysModeTakesEveryUtteranceAndDropsAHabitualWakePhrase() async throws {
        let log = try await run(["What time is it?", "Hey Hark, what is two plus two?", "Hey Hark."], bursts: [1, 3, 5], length: 7,
                                mode: .always)
        #expect(log.names == ["final", "intent", "reply", "final", "intent", "reply", "final"])
        #expect(log.intents == ["GetTime", "Calculate"])
        #expect(log.replies.last?.contains("4") == true)
    }
}
