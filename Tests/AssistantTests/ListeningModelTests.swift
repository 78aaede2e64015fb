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

    @Test func shortDictationMatchesTheWholeFileTranscript() async throws {
        let (listener, transcriber) = try realListener()
        let clips = try corpusClips(category: "A").filter {
            ["cmu_arctic_axb_a0005.wav", "speech_recognition__english.wav", "sense_and_sensibility_0880.wav"]
                .contains(where: $0.file.hasSuffix)
        }
        try #require(clips.count == 3)
        var listened = 0.0, whole = 0.0
        for clip in clips {
            let path = ProjectPaths.corpus.appendingPathComponent(clip.file).path
            let events = try await listen(listener, to: try SamplesAudioSource(wavPath: path))
            let reference = try await transcriber.transcribe(try AudioClip.load(path).samples)
            listened += wordErrorRate(finalText(events), reference: clip.transcript)
            whole += wordErrorRate(reference.text, reference: clip.transcript)
        }
        #expect(listened / 3 <= whole / 3 + 0.10, "WER listening \(listened / 3) vs whole file \(whole / 3)")
    }

    @Test func werIsComputedOnWords() {
        #expect(wordErrorRate("Hello, world!", reference: "hello world") == 0)
        #expect(wordErrorRate("hello", reference: "hello world") == 0.5)
        #expect(wordErrorRate("a b c", reference: "a x c") == 1.0 / 3)
    }
}
