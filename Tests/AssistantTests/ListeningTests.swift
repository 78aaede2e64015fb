import ASR
import Audio
import Foundation
import HarkTestSupport
import Testing
import VAD
@testable import Assistant

/// A recognizer that answers every utterance with the same words (a Whisper-free stage for
/// boundary tests), built through `Transcript`'s Codable form.
struct FixedRecognizer: SpeechRecognizing {
    var text = "hello there"
    var noSpeechProb: Float = 0.01
    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        let json = """
            {"segments":[{"start":0,"end":\(Double(samples.count) / 16000),"text":" \(text)","tokens":[],"avgLogProb":-0.2,
            "noSpeechProb":\(noSpeechProb),"temperature":0,"compressionRatio":1}],"text":"\(text)","language":"en"}
            """
        return try JSONDecoder().decode(Transcript.self, from: Data(json.utf8))
    }
}

/// Collects every event of a listening run.
func listen(_ listener: Listener, to source: any AudioSourcing, lossless: Bool = true) async throws -> [ListenEvent] {
    var events: [ListenEvent] = []
    for try await event in listener.events(from: source, lossless: lossless) { events.append(event) }
    return events
}

/// Synthetic recording: espeak-ng phrases separated by known silences; the truth is where each
/// phrase's samples rise above -50 dBFS (its own leading/trailing quiet excluded).
struct SyntheticRecording {
    var samples: [Float] = []
    var truth: [(start: Double, end: Double)] = []

    init(phrases: [String], gaps: [Double]) throws {
        samples = [Float](repeating: 0, count: Int(gaps[0] * 16000))
        for (i, phrase) in phrases.enumerated() {
            let speech = try SpeechSynthesizer.shared.synthesize(phrase)
            let clip = try AudioClip(samples: speech.samples, sampleRate: speech.sampleRate).resampled(to: 16000).samples
            let loud = clip.indices.filter { abs(clip[$0]) > 0.003 }
            let first = try #require(loud.first), last = try #require(loud.last)
            truth.append((Double(samples.count + first) / 16000, Double(samples.count + last + 1) / 16000))
            samples += clip
            samples += [Float](repeating: 0, count: Int(gaps[min(i + 1, gaps.count - 1)] * 16000))
        }
    }
}

/// Boundaries the endpointer should report with no padding.
var unpaddedConfig: ListenerConfig {
    var config = ListenerConfig.default
    config.endpointer.padBeforeMs = 0
    config.endpointer.padAfterMs = 0
    config.partials = false
    return config
}

func utterances(_ events: [ListenEvent]) -> [(start: Double, end: Double)] {
    events.compactMap { if case let .speechEnd(start, end) = $0 { return (start, end) } else { return nil } }
}

@Suite(.serialized) struct ListeningTests {
    static let phrases = ["turn on the kitchen lights", "what is the weather like tomorrow", "set a timer for ten minutes"]
    static let gaps = [1.0, 1.5, 2.0, 1.0]

    @Test func ringBufferKeepsOrderAndCountsDrops() {
        let ring = SampleRingBuffer(capacity: 5)
        ring.write([1, 2, 3])
        #expect(ring.read(maxCount: 2) == [1, 2])
        ring.write([4, 5, 6, 7, 8, 9])      // 7 waiting in 5 slots: the 2 oldest dropped
        #expect(ring.droppedSamples == 2)
        #expect(ring.read(maxCount: 10) == [5, 6, 7, 8, 9])
        ring.close()
        #expect(ring.read(maxCount: 1) == nil)
    }

    @Test func losslessRingBufferMakesTheWriterWait() async {
        let ring = SampleRingBuffer(capacity: 7, blockWhenFull: true)
        let input = (0..<1000).map(Float.init)
        let writer = Thread { for i in stride(from: 0, to: 1000, by: 13) { ring.write(Array(input[i..<min(1000, i + 13)])) }; ring.close() }
        writer.start()
        var got: [Float] = []
        while let chunk = ring.read(maxCount: 3) { got += chunk }
        #expect(got == input)
        #expect(ring.droppedSamples == 0)
    }

    @Test func stabilizerCommitsWordsStableOverTwoPartials() {
        var s = PartialStabilizer()
        #expect(s.update("and") == "and")
        #expect(s.committed.isEmpty)
        #expect(s.update("and so") == "and so")
        #expect(s.committed == ["and"])
        #expect(s.update("and so my") == "and so my")
        #expect(s.committed == ["and", "so"])
        // A later decode that disagrees cannot change committed words.
        #expect(s.update("ask so mine fellow") == "and so mine fellow")
        #expect(s.committed == ["and", "so"])
    }

    @Test func annotationsAndPunctuationAreNotWords() {
        #expect(!containsSpokenWords(""))
        #expect(!containsSpokenWords(" ... !"))
        #expect(!containsSpokenWords("[music]"))
        #expect(!containsSpokenWords(" (wind blowing) [Music] *sigh*"))
        #expect(containsSpokenWords("[music] hello"))
        #expect(containsSpokenWords("42"))
    }

    @Test func jsonEventsAreOneObjectEach() throws {
        let line = ListenEvent.final(text: "hi \"you\"", start: 1.23456, end: 2).json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "final")
        #expect(object["text"] as? String == "hi \"you\"")
        #expect(object["start"] as? Double == 1.235)
        #expect(!line.contains("\n"))
    }

    @Test func boundariesOfASyntheticRecordingFromAWAVFile() async throws {
        let recording = try SyntheticRecording(phrases: Self.phrases, gaps: Self.gaps)
        let dir = try TemporaryDirectory()
        let wav = dir.file("synthetic.wav")
        try WAVWriter.write(AudioClip(samples: recording.samples, sampleRate: 16000), to: wav)
        let detector = try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD)
        let listener = Listener(recognizer: FixedRecognizer(), detector: detector, config: unpaddedConfig)
        let events = try await listen(listener, to: try SamplesAudioSource(wavPath: wav.path))
        try expectBoundaries(utterances(events), recording.truth)
        #expect(events.filter { if case .final = $0 { true } else { false } }.count == 3)
    }

    @Test func boundariesOfASyntheticRecordingThroughTheALSAFilePlugin() async throws {
        let recording = try SyntheticRecording(phrases: Self.phrases, gaps: Self.gaps)
        let dir = try TemporaryDirectory()
        let raw = dir.file("synthetic.s16")
        let ints = recording.samples.map { Int16(clamping: Int(($0 * 32767).rounded())) }
        try ints.withUnsafeBytes { Data($0) }.write(to: raw)
        let alsa = try ALSAConfiguration(text: """
            pcm.harklisten {
                type file
                slave.pcm null
                file "/dev/null"
                infile "\(raw.path)"
                format "raw"
            }
            """)
        let source = try CaptureAudioSource(device: "harklisten", configuration: alsa)
        let detector = try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD)
        let listener = Listener(recognizer: FixedRecognizer(), detector: detector, config: unpaddedConfig)
        let events = try await listen(listener, to: source)
        try expectBoundaries(utterances(events), recording.truth)
    }

    @Test func unknownDeviceIsAClearError() throws {
        #expect(throws: AudioError.self) { try CaptureAudioSource(device: "no-such-device-hark") }
    }

    @Test func pacedSourceKeepsRealTime() throws {
        let source = PacedAudioSource(SamplesAudioSource(samples: [Float](repeating: 0, count: 4800), periodFrames: 1600))
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while let chunk = try source.read() { count += chunk.count }
        let elapsed = clock.now - start
        #expect(count == 4800)
        #expect(elapsed >= .milliseconds(290))
    }

    func expectBoundaries(_ got: [(start: Double, end: Double)], _ truth: [(start: Double, end: Double)]) throws {
        try #require(got.count == truth.count, "utterances \(got) vs truth \(truth)")
        for (g, t) in zip(got, truth) {
            #expect(abs(g.start - t.start) <= 0.1, "start \(g.start) vs \(t.start)")
            #expect(abs(g.end - t.end) <= 0.1, "end \(g.end) vs \(t.end)")
        }
    }
}
