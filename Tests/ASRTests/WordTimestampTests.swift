import Audio
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// `Tests/Fixtures/asr/transcribe_reference.json`: faster-whisper `transcribe` (beam 5) segments
/// and word timestamps on a few corpus clips, from `scripts/reference/whisper_reference.py`.
struct TranscribeReference: Decodable {
    struct Word: Decodable { let start: Double; let end: Double; let word: String; let probability: Float }
    struct PlainSegment: Decodable { let start: Double; let end: Double; let text: String; let tokens: [Int] }
    struct TimedSegment: Decodable { let start: Double; let end: Double; let text: String; let words: [Word] }
    struct Clip: Decodable { let file: String; let beam5Segments: [PlainSegment]; let wordTimestampSegments: [TimedSegment] }
    let clips: [Clip]

    static func load() throws -> TranscribeReference {
        try JSONDecoder().decode(TranscribeReference.self, from: Data(contentsOf: ProjectPaths.fixtures.appendingPathComponent("asr/transcribe_reference.json")))
    }
}

/// The pieces of word alignment on hand-made input, then the whole against faster-whisper.
@Suite(.serialized) struct WordTimestampTests {
    static let transcriber = Result { try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn) }

    @Test func dynamicTimeWarpingFollowsTheLargestValues() {
        // 2 tokens x 5 frames: token 0 attends to frames 0-1, token 1 to frames 2-4. Worked by
        // hand: at (row 1, frame 1) the step down is strictly cheapest, so the path goes down
        // there and row 1 is entered at frame 1 (0.02 s); later ties go right.
        let matrix: [Float] = [5, 5, 0, 0, 0,
                               0, 0, 5, 5, 5]
        let path = WordAligner.negativeDTW(matrix, rows: 2, columns: 5)
        #expect(path.map(\.row) == [0, 0, 1, 1, 1, 1])
        #expect(path.map(\.column) == [0, 1, 1, 2, 3, 4])
        #expect(WordAligner.jumpTimes(path) == [0, 0.02])
        // More tokens than frames: the path still visits every row once, moving down.
        let tall = WordAligner.negativeDTW([1, 1, 1], rows: 3, columns: 1)
        #expect(tall.map(\.row) == [0, 1, 2] && tall.map(\.column) == [0, 0, 0])
    }

    @Test func medianFilterReflectsAtTheEdges() {
        // Width 3 on [1, 9, 2, 8]: windows [9,1,9] [1,9,2] [9,2,8] [2,8,2].
        #expect(WordAligner.medianFilter([1, 9, 2, 8], width: 3) == [9, 2, 8, 2])
        // An isolated spike disappears with width 7; too-short input is left alone.
        #expect(WordAligner.medianFilter([0, 0, 0, 0, 7, 0, 0, 0, 0], width: 7) == [Float](repeating: 0, count: 9))
        #expect(WordAligner.medianFilter([3, 1], width: 7) == [3, 1])
    }

    @Test func punctuationJoinsItsWord() {
        func word(_ text: String, _ token: Int) -> AlignedWord { AlignedWord(word: text, tokens: [token], start: 0, end: 0, probability: 1) }
        var words = [word(" \"", 1), word("Hello", 2), word(",", 3), word(" world", 4), word(".", 5), word("\"", 6)]
        WordTimingAdjustment.mergePunctuation(&words)
        #expect(words.map(\.word) == ["", " \"Hello,", "", " world.\"", "", ""])
        #expect(words.map(\.tokens) == [[], [1, 2, 3], [], [4, 5, 6], [], []])
    }

    @Test func wordsStartAtSpacesAndPunctuation() throws {
        let tokenizer = try WhisperTokenizer(modelDirectory: ProjectPaths.whisperTinyEn)
        let ids = tokenizer.encode(" And so, my fellow Americans-ask")
        let words = tokenizer.splitIntoWords(ids, language: "en")
        #expect(words.map(\.text) == [" And", " so", ",", " my", " fellow", " Americans", "-ask"])
        #expect(words.flatMap(\.tokens) == ids)
        // A character split across tokens stays whole.
        let accented = tokenizer.encode(" 東京")
        #expect(tokenizer.splitIntoWords(accented, language: "ja").map(\.text).joined() == " 東京")
        #expect(tokenizer.splitIntoWords(accented, language: "ja").allSatisfy { !$0.text.contains("\u{FFFD}") })
    }

    /// Every word as faster-whisper gives it, with start and end within 0.1 s (on these clips
    /// Hark's times are equal to the reference's to the 10 ms they are rounded to; the tolerance
    /// covers float-order differences in the attention and one DTW frame, 20 ms, either way).
    @Test func wordsMatchFasterWhisper() async throws {
        let transcriber = try Self.transcriber.get()
        var options = TranscriptionOptions.default
        options.wordTimestamps = true
        for clip in try TranscribeReference.load().clips {
            let samples = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent(clip.file).path).samples
            let transcript = try await transcriber.transcribe(samples, options: options)
            let ours = transcript.segments.flatMap { $0.words ?? [] }
            let theirs = clip.wordTimestampSegments.flatMap(\.words)
            #expect(ours.map(\.word) == theirs.map(\.word), "\(clip.file)")
            var worst = 0.0
            for (a, b) in zip(ours, theirs) {
                worst = max(worst, abs(a.start - b.start), abs(a.end - b.end))
                #expect(abs(a.probability - b.probability) < 0.02, "\(clip.file) \(a.word): \(a.probability) vs \(b.probability)")
            }
            #expect(worst <= 0.1, "\(clip.file): largest time difference \(worst) s")
            // Segment times follow their words, as in the reference.
            #expect(transcript.segments.count == clip.wordTimestampSegments.count)
            for (a, b) in zip(transcript.segments, clip.wordTimestampSegments) {
                #expect(abs(a.start - b.start) <= 0.1 && abs(a.end - b.end) <= 0.1, "\(clip.file): \(a.start)-\(a.end) vs \(b.start)-\(b.end)")
            }
            for word in ours { #expect(word.end >= word.start && word.probability > 0 && word.probability <= 1) }
        }
    }

    /// Beam 5 (the default) gives faster-whisper's beam-5 tokens, timestamps included.
    @Test func beamFiveTokensMatchFasterWhisper() async throws {
        let transcriber = try Self.transcriber.get()
        for clip in try TranscribeReference.load().clips {
            let samples = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent(clip.file).path).samples
            let transcript = try await transcriber.transcribe(samples)
            #expect(transcript.segments.map(\.tokens) == clip.beam5Segments.map(\.tokens), "\(clip.file)")
            #expect(transcript.segments.map(\.text) == clip.beam5Segments.map(\.text), "\(clip.file)")
            for (a, b) in zip(transcript.segments, clip.beam5Segments) {
                #expect(abs(a.start - b.start) < 1e-6 && abs(a.end - b.end) < 1e-6, "\(clip.file)")
            }
        }
    }

    /// Past 30 s the words keep their place in the whole recording: JFK, a pause, JFK again.
    @Test func wordTimesAcrossWindows() async throws {
        let transcriber = try Self.transcriber.get()
        let jfk = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path).samples
        var options = TranscriptionOptions.default
        options.beamSize = 1
        options.wordTimestamps = true
        let long = jfk + [Float](repeating: 0, count: 16000 * 10) + jfk + [Float](repeating: 0, count: 16000 * 10) + jfk
        let transcript = try await transcriber.transcribe(long, options: options)
        let words = transcript.segments.flatMap { $0.words ?? [] }
        let americans = words.filter { $0.word.contains("Americans") }
        #expect(americans.count == 3, "\(transcript.text)")
        // Each "Americans" is about 2 s into its copy (copies start at 0, 21 and 42 s).
        for (copy, word) in americans.enumerated() {
            let offset = Double(copy) * 21
            #expect(word.start > offset + 1 && word.end < offset + 3, "\(word)")
        }
        for (a, b) in zip(words, words.dropFirst()) { #expect(b.start >= a.start - 1e-9) }
    }
}
