import Foundation
import Testing
import HarkTestSupport
@testable import Audio

/// Files written by another program: sox converts a float WAV we wrote into every encoding we
/// read (sox writes WAVE_FORMAT_EXTENSIBLE for more than 16 bits or 2 channels, and a `LIST`
/// chunk in some versions); we must read back the very same samples.
@Suite struct SoxInteropTests {
    static let encodings: [[String]] = [
        ["-b", "8", "-e", "unsigned-integer"], ["-b", "16", "-e", "signed-integer"], ["-b", "24", "-e", "signed-integer"],
        ["-b", "32", "-e", "signed-integer"], ["-b", "32", "-e", "floating-point"], ["-b", "64", "-e", "floating-point"],
    ]

    @Test(arguments: encodings, [1, 2, 3])
    func readsWhatSoxWrites(encoding: [String], channels: Int) throws {
        let dir = try TemporaryDirectory()
        // Multiples of 1/128 are exact in every encoding.
        let frames = 1000
        let interleaved = (0..<(frames * channels)).map { Float(($0 * 53) % 255 - 127) / 128 }
        var builder = WAVBuilder()
        builder.sample = .float(bits: 32)
        builder.channels = channels
        builder.sampleRate = 44_100
        let source = dir.file("source.wav")
        try Data(builder.build(samples: interleaved.map(Double.init))).write(to: source)
        let converted = dir.file("converted.wav")
        let sox = Process()
        sox.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        sox.arguments = ["-D", source.path] + encoding + [converted.path]   // -D: no dither
        try sox.run()
        sox.waitUntilExit()
        try #require(sox.terminationStatus == 0)
        let wav = try WAVReader.read(contentsOf: converted)
        #expect(wav.channels == channels && wav.sampleRate == 44_100)
        #expect(wav.bitsPerSample == Int(encoding[1])!)
        #expect(wav.samples == interleaved, "\(encoding) \(channels) channels, format tag \(wav.formatTag)")
    }
}
