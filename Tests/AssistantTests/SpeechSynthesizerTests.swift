import Assistant
import Testing

@Suite struct SpeechSynthesizerTests {
    @Test func speaksAShortReplyIntoMemory() throws {
        let speech = try SpeechSynthesizer.shared.synthesize("Timer set for five minutes.")
        #expect(speech.sampleRate == 22050)
        // About 1.5 s of speech at 165 words per minute; allow a wide margin for voice data versions.
        #expect(speech.duration > 0.8 && speech.duration < 4)
        let peak = speech.samples.map(abs).max() ?? 0
        #expect(peak > 0.05 && peak <= 1)
    }

    @Test func fasterVoiceGivesShorterSpeech() throws {
        let text = "The kitchen timer has finished."
        let slow = try SpeechSynthesizer.shared.synthesize(text, voice: .init(wordsPerMinute: 120))
        let fast = try SpeechSynthesizer.shared.synthesize(text, voice: .init(wordsPerMinute: 300))
        #expect(fast.duration < slow.duration * 0.7)
    }

    @Test func unknownVoiceIsAClearError() {
        #expect(throws: SpeechSynthesizer.SynthesisError.self) {
            try SpeechSynthesizer.shared.synthesize("hello", voice: .init(name: "no-such-voice-xyz"))
        }
    }
}
