import ASR
import Audio
import Foundation
import HarkTestSupport
import Testing
import VAD
import Assistant

/// Word error rate of `hypothesis` against `reference`, case and punctuation ignored.
func wordErrorRate(_ hypothesis: String, reference: String) -> Double {
    func words(_ s: String) -> [String] {
        let kept: [Character] = s.lowercased().map { (c: Character) -> Character in
            c.isLetter || c.isNumber || c == "'" ? c : " "
        }
        return String(kept).split(separator: " ").map(String.init)
    }
    let h = words(hypothesis), r = words(reference)
    guard !r.isEmpty else { return h.isEmpty ? 0 : 1 }
    var row = Array(0...h.count)
    for i in 1...r.count {
        var next = [i] + [Int](repeating: 0, count: h.count)
        for j in stride(from: 1, through: h.count, by: 1) {
            next[j] = min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
        }
        row = next
    }
    return Double(row[h.count]) / Double(r.count)
}

/// Rows of the corpus manifest: (file, transcript) of a category.
func corpusClips(category: String) throws -> [(file: String, transcript: String)] {
    let text = try String(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var clips: [(file: String, transcript: String)] = []
    for line in text.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        if fields.count > 5 && fields[5] == Substring(category) { clips.append((String(fields[0]), String(fields[2]))) }
    }
    return clips
}

/// The listener with the real models (partials off: finals are what these tests judge).
func realListener() throws -> (Listener, WhisperTranscriber) {
    let transcriber = try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn)
    let detector = try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD)
    var config = ListenerConfig.default
    config.partials = false
    return (Listener(recognizer: transcriber, detector: detector, config: config), transcriber)
}

func finalText(_ events: [ListenEvent]) -> String {
    events.compactMap { if case let .final(text, _, _) = $0 { return text } else { return nil } }.joined(separator: " ")
}

@Suite(.serialized) struct ListeningModelTests {
    @Test func nonSpeechCorpusGivesNoWords() async throws {
        let (listener, _) = try realListener()
        let clips = try corpusClips(category: "C")
        try #require(clips.count >= 10)
        for clip in clips {
            let source = try SamplesAudioSource(wavPath: ProjectPaths.corpus.appendingPathComponent(clip.file).path)
            let events = try await listen(listener, to: source)
            #expect(finalText(events).isEmpty, "\(clip.file): \(finalText(events))")
        }
    }

    /// All of category A through the listener with the dictation settings (read as fast as
    /// possible, lossless: the same utterances and decodes as in real time) against `hark
    /// transcribe` on the whole files: corpus WER within 10 % (relative) of transcribe's.
    /// About 1-2 minutes in release on 2 cores.
    @Test func dictationWERStaysWithinTenPercentOfTranscribe() async throws {
        let transcriber = try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn)
        let detector = try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD)
        var config = ListenerConfig.dictation
        config.partials = false
        let listener = Listener(recognizer: transcriber, detector: detector, config: config)
        let clips = try corpusClips(category: "A")
        try #require(clips.count >= 15)
        let normalizer = EnglishTextNormalizer()
        var listened = WordErrorCounts(), whole = WordErrorCounts()
        func add(_ c: WordErrorCounts, to total: inout WordErrorCounts) {
            total.substitutions += c.substitutions
            total.deletions += c.deletions
            total.insertions += c.insertions
            total.referenceWords += c.referenceWords
        }
        for clip in clips {
            let path = ProjectPaths.corpus.appendingPathComponent(clip.file).path
            let events = try await listen(listener, to: try SamplesAudioSource(wavPath: path))
            let reference = try await transcriber.transcribe(try AudioClip.load(path).samples)
            let words = normalizer.words(clip.transcript)
            add(WordErrorCounts(reference: words, hypothesis: normalizer.words(finalText(events))), to: &listened)
            add(WordErrorCounts(reference: words, hypothesis: normalizer.words(reference.text)), to: &whole)
        }
        #expect(whole.referenceWords > 100)
        #expect(listened.wordErrorRate <= whole.wordErrorRate * 1.1 + 1e-9,
                "WER listening \(listened.wordErrorRate) vs hark transcribe \(whole.wordErrorRate)")
    }

    @Test func werIsComputedOnWords() {
        #expect(wordErrorRate("Hello, world!", reference: "hello world") == 0)
        #expect(wordErrorRate("hello", reference: "hello world") == 0.5)
        #expect(wordErrorRate("a b c", reference: "a x c") == 1.0 / 3)
    }
}
