import Foundation
import HarkTestSupport
import Testing

/// The whole one-shot path on the bundled spoken samples, through the built `hark`:
/// WAV -> Whisper -> intent -> skill, and audio rows of an intent manifest.
@Suite(.serialized) struct SpokenCommandTests {
    @Test func transcribesAndAnswersTheSamples() throws {
        let sample = ProjectPaths.root.appendingPathComponent("samples/twelve-times-fourteen.wav").path
        let transcript = try runHark(["transcribe", "--format", "txt", sample])
        #expect(transcript.status == 0, "\(transcript.stderr)")
        let text = transcript.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.lowercased().contains("times"), "transcript: \(text)")
        let answer = try runHark(["ask", "--no-llm", text])
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(answer.stdout.contains("168"), "reply: \(answer.stdout)")
    }

    @Test func intentEvaluationTranscribesAudioRows() throws {
        let manifest = ProjectPaths.fixtures.appendingPathComponent("intent/spoken.tsv").path
        let result = try runHark(["eval", "intent", manifest, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["total"] as? Int == 2)
        #expect(report["intentCorrect"] as? Int == 2, "\(result.stdout)")
        #expect((report["skippedAudio"] as? [Any])?.isEmpty == true)
    }

    @Test func askFallsBackToTheLocalModelWhenNoIntentMatches() throws {
        let answer = try runHark(["ask", "--temperature", "0", "--max-tokens", "24", "what is the capital of France"])
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(answer.stdout.contains("Paris"), "reply: \(answer.stdout)")
    }
}
