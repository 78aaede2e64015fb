import Audio
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// whisper-base (multilingual) on speech synthesized by espeak-ng, and the initial prompt.
@Suite(.serialized) struct MultilingualTests {
    static let base = Result { try WhisperTranscriber(modelDirectory: ProjectPaths.models.appendingPathComponent("whisper-base")) }

    /// espeak-ng speaks `text` in `voice`; the clip comes back resampled to 16 kHz.
    static func speak(_ text: String, voice: String) async throws -> [Float] {
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("hark-\(voice)-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: wav) }
        let run = try await TranscribeCommandTests.run("/usr/bin/espeak-ng", ["-v", voice, "-w", wav.path, text])
        #expect(run.status == 0, "espeak-ng: \(run.stderr)")
        return try AudioClip.load(wav.path).samples
    }

    @Test func detectsGermanAndTranslatesIt() async throws {
        let transcriber = try Self.base.get()
        let german = try await Self.speak("Guten Morgen. Ich möchte heute einen Kaffee trinken und dann in die Stadt fahren.", voice: "de")
        let transcript = try await transcriber.transcribe(german)
        #expect(transcript.language == "de")
        let words = Set(EnglishTextNormalizer().words(transcript.text))
        #expect(words.isSuperset(of: ["guten", "morgen", "kaffee"]), "\(transcript.text)")
        var options = TranscriptionOptions.default
        options.task = .translate
        let english = try await transcriber.transcribe(german, options: options)
        let englishWords = Set(EnglishTextNormalizer().words(english.text))
        #expect(englishWords.isSuperset(of: ["good", "morning", "coffee"]), "\(english.text)")
        #expect(englishWords.isDisjoint(with: ["guten", "morgen", "kaffee", "ich"]), "\(english.text)")
    }

    @Test func detectsFrenchOrUsesTheGivenLanguage() async throws {
        let transcriber = try Self.base.get()
        let french = try await Self.speak("Bonjour. Je voudrais boire un café ce matin avec mes amis.", voice: "fr")
        let transcript = try await transcriber.transcribe(french)
        #expect(transcript.language == "fr")
        #expect(transcript.text.lowercased().contains("bonjour"), "\(transcript.text)")
        var options = TranscriptionOptions.default
        options.language = "fr"
        #expect(try await transcriber.transcribe(french, options: options).language == "fr")
        options.language = "xx"
        await #expect(throws: ASRError.self) { try await transcriber.transcribe(french, options: options) }
    }

    /// tiny.en hears the name in "Author of the Danger Trail, Philip Steels, etc." as "fill up";
    /// a prompt with the name gives it the prompt's spelling.
    @Test func promptSetsTheSpellingOfAName() async throws {
        let transcriber = try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn)
        let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/cmu_arctic_aew_a0001.wav").path).samples
        let plain = try await transcriber.transcribe(clip)
        #expect(!plain.text.contains("Philip"), "\(plain.text)")
        var options = TranscriptionOptions.default
        options.initialPrompt = "Philip Steels"
        let prompted = try await transcriber.transcribe(clip, options: options)
        #expect(prompted.text.contains("Philip Steels"), "\(prompted.text)")
        // The prompt steers; it is not copied into the transcript.
        #expect(prompted.segments.allSatisfy { !$0.text.hasPrefix(" Philip Steels Author") })
    }
}
