import Audio
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// Hark's silence gate must not cost real commands: on corpus category B every clip that
/// tiny.en gets right without the gate is still right with it (category C stays at zero words:
/// `TranscriberTests.nonSpeechGivesNoWords`).
@Suite(.serialized) struct SilenceGateTests {
    @Test func gateKeepsEveryCorrectCommand() async throws {
        let transcriber = try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn)
        let entries = try EvaluationManifest(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv")).entries(category: "B")
        #expect(entries.count >= 50)
        var ungated = TranscriptionOptions.default
        ungated.minimumSpeechConfidence = nil
        ungated.gateNoSpeechThreshold = nil
        let normalizer = EnglishTextNormalizer()
        var correct = 0
        for entry in entries {
            let samples = try AudioClip.load(entry.url.path).samples
            let free = try await transcriber.transcribe(samples, options: ungated)
            guard normalizer.normalize(free.text) == normalizer.normalize(entry.transcript) else { continue }
            correct += 1
            let gated = try await transcriber.transcribe(samples)
            #expect(gated.text == free.text, "\(entry.path): '\(free.text)' became '\(gated.text)'")
        }
        // Most commands are recognised at all (so the check above covers something).
        #expect(correct >= entries.count / 2, "\(correct) of \(entries.count)")
    }

    @Test func gateRules() {
        func window(noSpeech: Float, avgLogProb: Float) -> WindowDecoding {
            WindowDecoding(tokens: [1, 2, 3], sumLogProb: avgLogProb * 4, noSpeechProb: noSpeech, temperature: 0)
        }
        let options = TranscriptionOptions.default
        // A quiet one-word command: some no-speech probability, fairly likely text.
        #expect(!WhisperTranscriber.isSilence(window(noSpeech: 0.59, avgLogProb: -0.82), options))
        // "Mmm..." on whale song: no-speech 0.55, log-probability -0.95.
        #expect(WhisperTranscriber.isSilence(window(noSpeech: 0.55, avgLogProb: -0.95), options))
        // "You" on digital silence: confidence (1 - 0.95) x exp(-0.68) = 0.025.
        #expect(WhisperTranscriber.isSilence(window(noSpeech: 0.95, avgLogProb: -0.68), options))
        var off = options
        off.minimumSpeechConfidence = nil
        off.gateNoSpeechThreshold = nil
        #expect(!WhisperTranscriber.isSilence(window(noSpeech: 0.55, avgLogProb: -0.95), off))
    }
}
