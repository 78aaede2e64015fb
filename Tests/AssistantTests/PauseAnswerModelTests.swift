import ASR
import Audio
import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing
import VAD

/// Answering on a pause with the real models (release: `swift test -c release --filter
/// PauseAnswerModelTests`): espeak-ng speech with a pause inside, Silero VAD and Whisper tiny.en,
/// played at half real-time speed, so the early decode has time to finish before the endpoint
/// on a loaded machine (each test takes about ten seconds of wall time).
@Suite(.serialized) struct PauseAnswerModelTests {
    /// espeak-ng's `text` at 16 kHz.
    func speech(_ text: String) throws -> [Float] {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        return try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000)
    }

    func silence(_ seconds: Double) -> [Float] { [Float](repeating: 0, count: Int(seconds * 16000)) }

    /// Runs the always-listening pipeline over `samples` in real time. The trailing silence is
    /// 1.5 s, so a pause of `gap` inside the command never ends the utterance and the early
    /// decode has time to finish on a loaded machine.
    func run(_ samples: [Float]) async throws -> (log: EventLog, statistics: AssistantStatistics, listening: ListenStatistics) {
        let dir = try TemporaryDirectory()
        let log = EventLog()
        var config = AssistantConfig()
        config.mode = .always
        var listening = ListenerConfig()
        listening.partials = false
        listening.endpointer.trailingSilenceMs = 1500
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(),
                                         context: SkillContext(notes: NoteStore(url: dir.file("n.json"))), languageModel: nil)
        let pipeline = try AssistantPipeline(recognizer: try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn),
                                             detector: try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD),
                                             listenerConfig: listening, responder: responder, speech: SilentSpeechOutput(),
                                             config: config) { log.append($0) }
        let statistics = AssistantStatistics(), listenStatistics = ListenStatistics()
        try await pipeline.run(from: PacedAudioSource(SamplesAudioSource(samples: samples), speed: 0.5),
                               statistics: statistics, listenStatistics: listenStatistics)
        return (log, statistics, listenStatistics)
    }

    @Test func setATimerForPauseTenMinutesSetsOneTimerOfTenMinutes() async throws {
        let samples = silence(0.5) + (try speech("set a timer for")) + silence(0.8) + (try speech("ten minutes")) + silence(2)
        let r = try await run(samples)
        // The pause after "for" was long enough to be decoded and reported, and not acted on.
        #expect(r.listening.pauses >= 1, "\(r.log.events)")
        #expect(r.log.intents == ["SetTimer"], "\(r.log.events)")
        guard case let .intent(_, slots, _)? = r.log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(slots["duration"] == "600")
        #expect(r.log.events.filter { $0.name == "timer" }.count == 1)
    }

    @Test func aCompleteCommandIsAnsweredBeforeTheEndpoint() async throws {
        let r = try await run(silence(0.5) + (try speech("set a timer for ten seconds")) + silence(2.5))
        #expect(r.log.intents == ["SetTimer"], "\(r.log.events)")
        #expect(r.statistics.earlyAnswers == 1, "answered on the pause, 1.5 s before the endpoint would come")
        #expect(r.log.finals.count == 1, "the endpoint's final is the early one: not reported twice")
    }
}
