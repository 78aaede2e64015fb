import ASR
import Assistant
import Audio
import Foundation
import HarkTestSupport
import Intent
import Testing
import VAD

/// The whole voice pipeline with the real models (run in release): speech synthesized with
/// espeak-ng at test time, played in real time into Silero VAD + whisper-tiny.en, answered by
/// the skills, spoken through the ALSA `file` plugin.
@Suite(.serialized) struct PipelineSpeechTests {
    /// 16 kHz mono: each text synthesized, followed by its pause in seconds; 0.5 s lead-in.
    static func speech(_ parts: [(String, Double)]) throws -> [Float] {
        let dir = try TemporaryDirectory()
        var samples = [Float](repeating: 0, count: 8000)
        for (i, (text, pause)) in parts.enumerated() {
            let file = dir.file("part\(i).wav")
            try synthesizeSpeech(text, to: file)
            samples += try AudioClip.load(file.path, sampleRate: 16_000).samples
            samples += [Float](repeating: 0, count: Int(pause * 16_000))
        }
        return samples
    }

    struct Setup {
        var mode: AssistantConfig.Mode = .wake
        var gate = true
        var clock: ManualClock? = nil
        var speech: (any SpeechOutput)? = nil
    }

    static func run(_ samples: [Float], _ setup: Setup = Setup(), log: EventLog = EventLog(),
                    holdUntil: (@Sendable () -> Bool)? = nil,
                    source: ((any AudioSourcing) -> any AudioSourcing)? = nil) async throws -> EventLog {
        let dir = try TemporaryDirectory()
        var config = AssistantConfig()
        config.mode = setup.mode
        config.gateWhileSpeaking = setup.gate
        let timers = TimerCenter(clock: setup.clock ?? SystemClock())
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: timers,
                                         context: SkillContext(notes: NoteStore(url: dir.file("notes.json"))), languageModel: nil)
        let pipeline = try AssistantPipeline(
            recognizer: try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn),
            detector: try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD),
            responder: responder, speech: setup.speech ?? SilentSpeechOutput(), config: config) { log.append($0) }
        var paced: any AudioSourcing = PacedAudioSource(SamplesAudioSource(samples: samples))
        if let holdUntil { paced = HoldOpenAudioSource(inner: paced, done: holdUntil) }
        try await pipeline.run(from: source?(paced) ?? paced)
        return log
    }

    @Test func wakePhraseAndCommandInOneBreath() async throws {
        let log = try await Self.run(try Self.speech([("hey hark, what time is it", 2)]))
        #expect(log.names == ["wake", "final", "intent", "reply"], "\(log.events)")
        #expect(log.intents == ["GetTime"])
        #expect(log.replies.first?.hasPrefix("It's ") == true)
    }

    @Test func wakePhraseThenPauseThenTimerThatRings() async throws {
        let clock = ManualClock(Date())
        let log = EventLog()
        // When the timer is set, move its clock past the deadline: it rings during the trailing silence.
        log.onEvent = { event in
            if case .timer(_, _, _, false) = event { clock.advance(by: 11) }
        }
        var setup = Setup()
        setup.clock = clock
        _ = try await Self.run(try Self.speech([("hey hark", 1.5), ("set a timer for ten seconds", 3)]), setup, log: log,
                               holdUntil: { log.events.contains { if case .timer(_, _, _, true) = $0 { true } else { false } } })
        let fired = log.events.firstIndex { if case .timer(_, _, _, true) = $0 { true } else { false } }
        let set = log.events.firstIndex { if case .timer(_, _, _, false) = $0 { true } else { false } }
        let withoutRinging = log.events.enumerated().filter { $0.offset != fired }.map(\.element)
            .map(\.name).filter { !["partial", "replyPiece", "speaking", "error"].contains($0) }
        #expect(withoutRinging == ["wake", "final", "final", "intent", "timer", "reply"], "\(log.events)")
        guard case let .intent(name, slots, _)? = log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(name == "SetTimer" && slots["duration"] == "10")
        #expect(log.replies == ["Timer set for 10 seconds."])
        guard let fired, let set, case let .timer(id, "timer", nil, false) = log.events[set] else {
            Issue.record("the timer was not set and rung: \(log.events)")
            return
        }
        #expect(fired > set && log.events[fired] == .timer(id: id, kind: "timer", name: nil, fired: true))
    }

    @Test func alwaysModeNeedsNoWakePhrase() async throws {
        var setup = Setup()
        setup.mode = .always
        let log = try await Self.run(try Self.speech([("what is twelve times fourteen", 2)]), setup)
        #expect(log.names == ["final", "intent", "reply"], "\(log.events)")
        #expect(log.replies.first?.contains("168") == true)
    }

    @Test func speechWithoutTheWakePhraseGivesNothing() async throws {
        let log = try await Self.run(try Self.speech([("what time is it", 1.5), ("set a timer for ten seconds", 2)]))
        #expect(log.names.isEmpty, "\(log.events)")
    }

    /// Hark's voice is fed back into its microphone (as a speaker in the same room would be);
    /// with the gate, it is never heard as a command; without it, it is.
    @Test func speaksThroughALSAAndDoesNotHearItself() async throws {
        let input = try Self.speech([("what time is it", 6)])

        func session(gate: Bool) async throws -> (log: EventLog, pcm: Data) {
            let dir = try TemporaryDirectory()
            let output = dir.file("spoken.raw")
            let alsa = try ALSAConfiguration(text: ALSAFilePlugin.playback(device: "harkspeaker", output: output))
            let echo = EchoAudioSource()
            let speaker = SpeakerOutput(device: "harkspeaker", configuration: alsa) { samples, rate in echo.add(samples, rate: rate) }
            var setup = Setup()
            setup.mode = .always
            setup.gate = gate
            setup.speech = speaker
            // Open until 3 s after Hark's first reply has been spoken (room for an echo to be heard).
            let log = EventLog()
            let quietSince = LockedInstant()
            log.onEvent = { if $0 == .speaking(started: false) { quietSince.setOnce() } }
            _ = try await Self.run(input, setup, log: log, holdUntil: { quietSince.elapsed > 3 }) { echo.wrap($0) }
            return (log, (try? Data(contentsOf: output)) ?? Data())
        }

        let gated = try await session(gate: true)
        #expect(gated.log.finals.count == 1, "\(gated.log.finals)")
        #expect(gated.log.intents == ["GetTime"])
        #expect(gated.log.events.filter { $0 == .speaking(started: true) }.count == 1)
        #expect(gated.log.events.filter { $0 == .speaking(started: false) }.count == 1)
        // About a second of 16-bit speech went to the device (espeak-ng's 22.05 kHz, or converted).
        #expect(gated.pcm.count > 20_000, "\(gated.pcm.count) bytes played")
        let peak = stride(from: 0, to: gated.pcm.count - 1, by: 2).map { i in
            abs(Int(Int16(bitPattern: UInt16(gated.pcm[i]) | UInt16(gated.pcm[i + 1]) << 8)))
        }.max() ?? 0
        #expect(peak > 1000, "the played audio is not silence")

        let open = try await session(gate: false)
        #expect(open.log.finals.count >= 2, "without the gate the echo should have been heard: \(open.log.finals)")
    }
}

/// When something first happened, thread-safe.
final class LockedInstant: @unchecked Sendable {
    private let lock = NSLock()
    private var instant: ContinuousClock.Instant?
    func setOnce() { lock.withLock { if instant == nil { instant = .now } } }
    /// Seconds since then (0 before).
    var elapsed: Double {
        lock.withLock {
            guard let instant else { return 0 }
            let d = ContinuousClock.now - instant
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
    }
}

/// After the inner source ends, silence at real-time pace until `done()` is true (or 90 s
/// pass): a microphone stays open, so what happens after the recorded words (a timer ringing,
/// Hark's own voice) still reaches the pipeline even when recognition runs behind real time.
struct HoldOpenAudioSource: AudioSourcing {
    let inner: any AudioSourcing
    let done: @Sendable () -> Bool
    let ended = ContinuousClock.now + .seconds(90)
    var sampleRate: Int { inner.sampleRate }
    func read() throws -> [Float]? {
        if let chunk = try inner.read() { return chunk }
        guard !done(), ContinuousClock.now < ended else { return nil }
        Thread.sleep(forTimeInterval: 0.032)
        return [Float](repeating: 0, count: 512)
    }
}

/// A microphone in the room: the inner source plus, mixed in from the moment it is played,
/// what Hark's speaker says (resampled to 16 kHz, at half level).
final class EchoAudioSource: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Float] = []

    func add(_ samples: [Float], rate: Int) {
        let resampled = (try? Resampler.resample(samples, from: rate, to: 16_000)) ?? []
        lock.withLock { pending += resampled.map { $0 * 0.5 } }
    }

    func wrap(_ inner: any AudioSourcing) -> any AudioSourcing { Mixed(inner: inner, echo: self) }

    func take(_ count: Int) -> [Float] {
        lock.withLock {
            let n = min(count, pending.count)
            defer { pending.removeFirst(n) }
            return Array(pending[0..<n])
        }
    }

    struct Mixed: AudioSourcing {
        let inner: any AudioSourcing
        let echo: EchoAudioSource
        var sampleRate: Int { inner.sampleRate }
        func read() throws -> [Float]? {
            guard var chunk = try inner.read() else { return nil }
            for (i, s) in echo.take(chunk.count).enumerated() { chunk[i] += s }
            return chunk
        }
    }
}

/// False accepts and misses of the wake phrase with the real models (unpaced, lossless).
@Suite(.serialized) struct PipelineWakeAccuracyTests {
    /// Every corpus clip of category B (commands: no wake phrase) and C (non-speech), one after
    /// another with a second of silence between, must not wake Hark.
    @Test func corpusCommandsAndNoiseDoNotWakeHark() async throws {
        let manifest = try String(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        var samples: [Float] = []
        var clips = 0
        for line in manifest.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count > 5, fields[5] == "B" || fields[5] == "C" else { continue }
            samples += try AudioClip.load(ProjectPaths.corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16_000).samples
            samples += [Float](repeating: 0, count: 16_000)
            clips += 1
        }
        #expect(clips == 90)
        let log = EventLog()
        let dir = try TemporaryDirectory()
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: nil,
                                         context: SkillContext(notes: NoteStore(url: dir.file("notes.json"))), languageModel: nil)
        let pipeline = try AssistantPipeline(
            recognizer: try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn),
            detector: try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD),
            responder: responder, speech: SilentSpeechOutput()) { log.append($0) }
        try await pipeline.run(from: SamplesAudioSource(samples: samples), lossless: true)
        let wakes = log.events.filter { $0.name == "wake" }
        #expect(wakes.isEmpty, "false wakes: \(wakes) then \(log.finals)")
    }

    /// "hey hark" in several espeak-ng voices and speeds: each wakes Hark and gives the command.
    @Test func wakePhraseInOtherVoices() async throws {
        let dir = try TemporaryDirectory()
        var samples = [Float](repeating: 0, count: 8000)
        let voices = [("en-us", 140), ("en-us", 190), ("en-gb", 160), ("en-us+f3", 160), ("en-gb-x-rp", 170), ("en-us+m3", 150)]
        for (i, (voice, speed)) in voices.enumerated() {
            let file = dir.file("v\(i).wav")
            try synthesizeSpeech("hey hark, what time is it", to: file, voice: voice, wordsPerMinute: speed)
            samples += try AudioClip.load(file.path, sampleRate: 16_000).samples
            samples += [Float](repeating: 0, count: 24_000)
        }
        let log = EventLog()
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: nil,
                                         context: SkillContext(notes: NoteStore(url: dir.file("notes.json"))), languageModel: nil)
        var config = AssistantConfig()
        config.followOnSeconds = 0  // each sentence stands alone
        let pipeline = try AssistantPipeline(
            recognizer: try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn),
            detector: try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD),
            responder: responder, speech: SilentSpeechOutput(), config: config) { log.append($0) }
        try await pipeline.run(from: SamplesAudioSource(samples: samples), lossless: true)
        let wakes = log.events.filter { $0.name == "wake" }
        // Allow one miss in six: a tiny model on robotic voices.
        #expect(wakes.count >= voices.count - 1, "wakes: \(wakes); finals: \(log.finals)")
        #expect(log.intents.filter { $0 == "GetTime" }.count >= voices.count - 1, "\(log.finals)")
    }
}

/// `hark assist` through the built executable.
@Suite(.serialized) struct PipelineCommandLineTests {
    @Test func assistPrintsTheConversation() throws {
        let dir = try TemporaryDirectory()
        let wav = dir.file("ask.wav")
        try synthesizeSpeech("hey hark, what is twelve times fourteen", to: wav)
        let result = try runHark(["assist", "--input", wav.path, "--no-speak", "--no-llm"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("you: ") && $0.lowercased().contains("times") }, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("hark: ") && $0.contains("168") }, "\(result.stdout)")

        let json = try runHark(["assist", "--input", wav.path, "--no-speak", "--no-llm", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let events = try json.stdout.split(separator: "\n").map { try AssistantEvent(json: String($0)) }
        #expect(events.map(\.name).filter { ["wake", "final", "intent", "reply"].contains($0) } == ["wake", "final", "intent", "reply"])
    }

    @Test func helpTeachesAndBadOptionsAreClearErrors() throws {
        let help = try runHark(["assist", "--help"])
        #expect(help.status == 0)
        for word in ["--wake-phrase", "--mode", "ptt", "--no-speak", "--no-llm", "--input", "--json", "hey hark"] {
            #expect(help.stdout.contains(word), "help lacks \(word)")
        }
        let badPhrase = try runHark(["assist", "--wake-phrase", " ,, ", "--no-speak"])
        #expect(badPhrase.status != 0 && badPhrase.stderr.contains("--wake-phrase"), "\(badPhrase.stderr)")
        let badMode = try runHark(["assist", "--mode", "sometimes"])
        #expect(badMode.status != 0 && badMode.stderr.contains("sometimes"), "\(badMode.stderr)")
        let missing = try runHark(["assist", "--input", "/nonexistent/x.wav"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/x.wav"), "\(missing.stderr)")
    }
}
