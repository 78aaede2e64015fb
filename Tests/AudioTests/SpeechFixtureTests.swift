import Foundation
import Testing
import HarkTestSupport
import Audio

@Suite struct SpeechFixtureTests {
    @Test func synthesizedSpeechIsSixteenKilohertzMonoAndNotSilent() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("hello.wav")
        try synthesizeSpeech("hello from hark", to: url)
        let wav = try WAVReader.read(contentsOf: url)
        #expect(wav.sampleRate == 16_000 && wav.channels == 1 && wav.bitsPerSample == 16 && wav.formatTag == 1)
        #expect(wav.duration > 0.5 && wav.duration < 3)
        let peak = wav.samples.map(abs).max() ?? 0
        #expect(peak > 0.1)
        // Only the WAV is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["hello.wav"])
    }
}
