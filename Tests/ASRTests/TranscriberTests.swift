import Audio
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// The whole recognizer with the real tiny.en on the development corpus.
@Suite(.serialized) struct TranscriberTests {
    static let transcriber = Result { try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn) }

    static func entries(_ category: String) throws -> [EvaluationManifest.Entry] {
        try EvaluationManifest(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv")).entries(category: category)
    }

    static func samples(_ entry: EvaluationManifest.Entry) throws -> [Float] {
        try AudioClip.load(entry.url.path).samples
    }

    /// Category A: word error rate at most 1.05 x faster-whisper's on the same weights, both scored
    /// with the project's normaliser (`Tests/Fixtures/asr/reference_wer.json`).
    @Test func dictationWordErrorRateMatchesTheReference() async throws {
        let transcriber = try Self.transcriber.get()
        let entries = try Self.entries("A")
        #expect(entries.count == 15)
        var hypotheses: [String: String] = [:]
        for entry in entries {
            hypotheses[entry.path] = try await transcriber.transcribe(Self.samples(entry)).text
        }
        let report = try ASREvaluation().score(entries, hypotheses: hypotheses, source: "hark")
        struct Reference: Decodable { let total: WordErrorCounts }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: ProjectPaths.fixtures.appendingPathComponent("asr/reference_wer.json")))
        let ours = report.total.wordErrorRate
        let theirs = reference.total.wordErrorRate
        #expect(ours <= 1.05 * theirs + 1e-9, "WER \(ours) vs reference \(theirs): \(report.rows.filter { $0.counts.errors > 0 }.map { "\($0.file): \($0.hypothesis)" })")
    }

    /// On a shortened window, greedy decoding of a one-word clip loops ("Yes? Yes? Yes? ..." up to
    /// the token budget) unless the loop guard stops it at the first repeat.
    @Test func shortenedWindowDecodesStopWhereTheTextLoops() async throws {
        let transcriber = try Self.transcriber.get()
        var options = TranscriptionOptions.default
        options.beamSize = 1
        options.temperatures = [0]
        options.withoutTimestamps = true
        options.shortenedEncoderWindow = true
        options.maxNewTokens = 40
        for name in ["speech_commands_v1__yes__439c84f4_nohash_1", "speech_commands_v1__left__563aa4e6_nohash_2"] {
            let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("B_commands/\(name).wav").path).samples
            let samples = [Float](repeating: 0, count: 3200) + clip + [Float](repeating: 0, count: 2048)
            let transcript = try await transcriber.transcribe(samples, options: options)
            let words = EnglishTextNormalizer().words(transcript.text)
            #expect(words.count == 1, "\(name): \(transcript.text)")
            #expect(transcript.segments.map(\.tokens.count).reduce(0, +) <= 3)
        }
    }

    /// Category C (silence, noise, hum, tone, music, animals): no words at all.
    @Test func nonSpeechGivesNoWords() async throws {
        let transcriber = try Self.transcriber.get()
        for entry in try Self.entries("C") {
            let transcript = try await transcriber.transcribe(Self.samples(entry))
            #expect(transcript.text.isEmpty, "\(entry.path): \(transcript.text)")
        }
    }

    @Test func segmentsHaveOrderedTimesWithinTheAudio() async throws {
        let transcriber = try Self.transcriber.get()
        let jfk = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path)
        var options = TranscriptionOptions.default
        options.beamSize = 1
        let transcript = try await transcriber.transcribe(jfk.samples, options: options)
        #expect(transcript.language == "en")
        #expect(!transcript.segments.isEmpty)
        var previousEnd = 0.0
        for segment in transcript.segments {
            #expect(segment.start >= previousEnd - 1e-9 && segment.end > segment.start && segment.end <= 11.0 + 1e-9)
            #expect(segment.temperature == 0 && segment.avgLogProb > -1 && segment.noSpeechProb < 0.6)
            previousEnd = segment.end
        }
        #expect(EnglishTextNormalizer().normalize(transcript.text)
                == "and so my fellow americans ask not what your country can do for you ask what you can do for your country")
    }

    /// Audio over 30 s goes window by window: JFK three times with pauses is 3 x the text.
    @Test func longAudioIsTranscribedWindowByWindow() async throws {
        let transcriber = try Self.transcriber.get()
        let jfk = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path).samples
        let pause = [Float](repeating: 0, count: 16000)
        let long = jfk + pause + jfk + pause + jfk
        var options = TranscriptionOptions.default
        options.beamSize = 1
        let fractions = ProgressLog()
        let transcript = try await transcriber.transcribe(long, options: options, progress: { fractions.append($0) })
        let normalized = EnglishTextNormalizer().words(transcript.text)
        #expect(normalized.filter { $0 == "americans" }.count == 3, "\(transcript.text)")
        #expect(transcript.segments.last.map { $0.end > 30 } == true)
        #expect(fractions.values.last == 1.0)
        #expect(fractions.values == fractions.values.sorted())
    }

    /// Several recordings at once from one loaded model give the same text as one at a time,
    /// also with a thread count per decode (a live listener's decodes can overlap: a pause
    /// decode and a partial or the endpoint's final), and that count stays the decode's own.
    @Test func concurrentTranscriptionsShareTheModel() async throws {
        let transcriber = try Self.transcriber.get()
        let files = ["A_dictation/pocketsphinx__librivox_sense_and_sensibility_0930.wav", "A_dictation/cmu_arctic_axb_a0005.wav"]
        let clips = try files.map { try AudioClip.load(ProjectPaths.corpus.appendingPathComponent($0).path).samples }
        var options = TranscriptionOptions.default
        options.beamSize = 1
        var sequential: [String] = []
        for clip in clips { sequential.append(try await transcriber.transcribe(clip, options: options).text) }
        for threads in [nil, 1] {
            var greedy = options
            greedy.threads = threads
            let concurrent = try await withThrowingTaskGroup(of: (Int, String).self) { [greedy] group in
                for (i, clip) in clips.enumerated() {
                    group.addTask { (i, try await transcriber.transcribe(clip, options: greedy).text) }
                }
                var out = [String](repeating: "", count: clips.count)
                for try await (i, text) in group { out[i] = text }
                return out
            }
            #expect(concurrent == sequential, "threads \(String(describing: threads))")
        }
        let before = gemmThreads
        var one = options
        one.threads = 1
        _ = try transcriber.transcribeSync(clips[1], options: one)
        #expect(gemmThreads == before, "the next decode on this thread has the process's thread count again")
    }

    /// A decode asked to stop stops with `CancellationError`, in the encoder or between decoder
    /// steps; one never asked to stop gives the same text as a plain call.
    @Test func aCancelledDecodeStopsEarly() throws {
        let transcriber = try Self.transcriber.get()
        let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/cmu_arctic_axb_a0005.wav").path).samples
        var options = TranscriptionOptions.default
        options.beamSize = 1
        let plain = try transcriber.transcribeSync(clip, options: options).text
        #expect(try transcriber.transcribeSync(clip, options: options, isCancelled: { false }).text == plain)
        #expect(throws: CancellationError.self) { try transcriber.transcribeSync(clip, options: options, isCancelled: { true }) }
        // Asked once per encoder block (4 in tiny.en), then once per decoder step: a decode
        // cancelled after its sixth question stopped within its first steps.
        let asked = Counter()
        #expect(throws: CancellationError.self) {
            try transcriber.transcribeSync(clip, options: options, isCancelled: { asked.increment() > 6 })
        }
        #expect(asked.value == 7)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        /// Adds one and returns the new count.
        func increment() -> Int { lock.withLock { count += 1; return count } }
    }

    @Test func badOptionsAreClearErrors() async throws {
        let transcriber = try Self.transcriber.get()
        var options = TranscriptionOptions.default
        options.task = .translate
        await #expect(throws: ASRError.self) { try await transcriber.transcribe([0, 0, 0], options: options) }
        options = .default
        options.beamSize = 0
        await #expect(throws: ASRError.self) { try await transcriber.transcribe([0, 0, 0], options: options) }
        // Empty audio is no speech, not an error.
        #expect(try await transcriber.transcribe([]).segments.isEmpty)
    }
}

/// Collects progress fractions from the @Sendable callback.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Double] = []
    func append(_ value: Double) { lock.lock(); stored.append(value); lock.unlock() }
    var values: [Double] { lock.lock(); defer { lock.unlock() }; return stored }
}
