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

/// Synthetic recording: corpus speech clips laid end to end with known silences, over -60 dBFS
/// seeded noise. The truth of each clip is its energy extent: 10 ms windows at least 15 dB above
/// the clip's own floor (10th-percentile window), in runs of at least 20 ms.
struct SyntheticRecording {
    var samples: [Float] = []
    var truth: [(start: Double, end: Double)] = []

    init(clips: [String], gaps: [Double]) throws {
        precondition(gaps.count == clips.count + 1)
        for (i, name) in clips.enumerated() {
            samples += [Float](repeating: 0, count: Int(gaps[i] * 16000))
            let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent(name).path).samples
            let extent = try #require(Self.speechExtent(of: clip))
            truth.append((Double(samples.count + extent.lowerBound) / 16000, Double(samples.count + extent.upperBound) / 16000))
            samples += clip
        }
        samples += [Float](repeating: 0, count: Int(gaps[clips.count] * 16000))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let amplitude: Float = 0.001 * 3.0.squareRoot().floatValue   // RMS 0.001 = -60 dBFS
        for k in samples.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            samples[k] += (Float(state >> 40) / Float(1 << 24) * 2 - 1) * amplitude
        }
    }

    static func speechExtent(of clip: [Float]) -> Range<Int>? {
        let window = 160
        let levels = stride(from: 0, to: clip.count - window + 1, by: window).map { rmsDecibels(Array(clip[$0..<$0 + window])) }
        let floor = levels.sorted()[levels.count / 10]
        let loud = levels.map { $0 > floor + 15 }
        let runs = loud.indices.filter { $0 + 1 < loud.count && loud[$0] && loud[$0 + 1] }
        guard let first = runs.first, let last = runs.last else { return nil }
        return first * window..<(last + 2) * window
    }
}

extension Double { var floatValue: Float { Float(self) } }

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
    static let clips = ["A_dictation/cmu_arctic_axb_a0005.wav", "A_dictation/cmu_arctic_axb_a0004.wav",
                        "A_dictation/cmu_arctic_aew_a0001.wav"]
    static let gaps = [1.0, 1.5, 2.0, 1.2]

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
        let pause = ListenEvent.pause(text: "set a timer", start: 0, end: 1, alternatives: ["set a tyler"]).json
        let paused = try #require(try JSONSerialization.jsonObject(with: Data(pause.utf8)) as? [String: Any])
        #expect(paused["alternatives"] as? [String] == ["set a tyler"])
        #expect(!ListenEvent.pause(text: "hi", start: 0, end: 1).json.contains("alternatives"))
    }

    @Test func boundariesOfASyntheticRecordingFromAWAVFile() async throws {
        let recording = try SyntheticRecording(clips: Self.clips, gaps: Self.gaps)
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
        let recording = try SyntheticRecording(clips: Self.clips, gaps: Self.gaps)
        let dir = try TemporaryDirectory()
        let raw = dir.file("synthetic.s16")
        let ints = recording.samples.map { Int16(clamping: Int(($0 * 32767).rounded())) }
        try ints.withUnsafeBytes { Data($0) }.write(to: raw)
        let alsa = try ALSAConfiguration(text: ALSAFilePlugin.capture(device: "harklisten", infile: raw))
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
            #expect(abs(g.start - t.start) <= 0.1, "start \(g.start) vs \(t.start); all \(got) vs \(truth)")
            #expect(abs(g.end - t.end) <= 0.1, "end \(g.end) vs \(t.end)")
        }
    }
}

@Suite struct ListeningPartialTests {
    @Test func partialsDoNotShowDecodingLoops() {
        func words(_ s: String) -> [String] { s.split(separator: " ").map(String.init) }
        #expect(ListenerConfig.withoutRepeatedPrefix(words("and so my fellow men, and so my fellow men, and")) == words("and so my fellow men,"))
        #expect(ListenerConfig.withoutRepeatedPrefix(words("and so and so and so")) == words("and so"))
        #expect(ListenerConfig.withoutRepeatedPrefix(words("no no I said no")) == words("no no I said no"))
    }
}
