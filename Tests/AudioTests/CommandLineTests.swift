import Foundation
import Testing
import HarkTestSupport
import Audio

@Suite(.serialized) struct CommandLineTests {
    @Test func recordThroughTheFilePluginWritesTheInputSamples() throws {
        let dir = try TemporaryDirectory()
        let samples = testSignal(count: 40_000, seed: 11)   // 2.5 s: --seconds 2 must cut at 32000
        let raw = dir.file("in.s16")
        try rawS16(samples).write(to: raw)
        let conf = dir.file("harkfile.conf")
        try ALSAFilePlugin.capture(infile: raw).write(to: conf, atomically: true, encoding: .utf8)
        let out = dir.file("out.wav")
        let result = try runHark(["record", "--alsa-config", conf.path, "--seconds", "2", out.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("Recorded 2.00 s"))
        let wav = try WAVReader.read(contentsOf: out)
        #expect(wav.sampleRate == 16_000 && wav.channels == 1 && wav.bitsPerSample == 16)
        #expect(wav.samples.map { Int16($0 * 32768) } == Array(samples[0..<32_000]))

        // Without --seconds it stops at the end of the input.
        let all = dir.file("all.wav")
        #expect(try runHark(["record", "--alsa-config", conf.path, "--device", "harkfile", all.path]).status == 0)
        #expect(try WAVReader.read(contentsOf: all).samples.map { Int16($0 * 32768) } == samples)
    }

    @Test func playFromStandardInputIntoTheFilePlugin() throws {
        let dir = try TemporaryDirectory()
        let samples = testSignal(count: 12_345, seed: 12)
        let wav = try WAVWriter.encode(AudioClip(samples: samples.map { Float($0) / 32768 }, sampleRate: 22_050))
        let out = dir.file("out.raw")
        let conf = dir.file("out.conf")
        try ALSAFilePlugin.playback(output: out).write(to: conf, atomically: true, encoding: .utf8)
        let result = try runHark(["play", "--alsa-config", conf.path, "-"], stdin: wav)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(try Data(contentsOf: out) == rawS16(samples))
    }

    @Test func errorsNameTheProblem() throws {
        let unknown = try runHark(["record", "--device", "no-such-hark-device", "--seconds", "1", "/tmp/unused.wav"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("Cannot open audio device 'no-such-hark-device'"))
        let missing = try runHark(["play", "/nonexistent/hark.wav"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("Cannot read '/nonexistent/hark.wav'"))
        let garbage = try runHark(["play", "-"], stdin: Data("not a wav file at all".utf8))
        #expect(garbage.stderr.contains("'standard input' is not a WAV file"))
    }

    @Test func devicesListsNull() throws {
        let result = try runHark(["devices"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Capture devices:"))
        #expect(result.stdout.contains("null"))
        #expect(result.stdout.contains("Sound cards:"))
    }
}
