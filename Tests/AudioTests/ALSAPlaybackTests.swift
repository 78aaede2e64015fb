import Foundation
import Testing
import HarkTestSupport
@testable import Audio

/// `pcm.harkout`: the `file` plugin over a `null` slave, writing what is played to `file`.
func filePlaybackConfiguration(output: URL) throws -> ALSAConfiguration {
    try ALSAConfiguration(text: ALSAFilePlugin.playback(output: output))
}

@Suite(.serialized) struct ALSAPlaybackTests {
    @Test func playsExactlyIntoTheFilePlugin() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("out.raw")
        let samples = testSignal(count: 16_000 + 777, seed: 3)
        do {
            let playback = try AudioPlayback(device: "harkout", configuration: try filePlaybackConfiguration(output: out))
            #expect(playback.deviceFormat.sampleFormat == "S16_LE" && playback.deviceFormat.sampleRate == 16_000)
            let floats = samples.map { Float($0) / 32768 }
            // In uneven pieces, as a speaking assistant would write.
            try playback.write(Array(floats[0..<1000]))
            try playback.write(Array(floats[1000..<9999]))
            try playback.write(Array(floats[9999...]))
            try playback.drain()
            #expect(playback.underruns == 0)
        }  // released: the plugin has closed its file
        #expect(try Data(contentsOf: out) == rawS16(samples))
    }

    @Test func playClipConvenience() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("clip.raw")
        let samples = testSignal(count: 4410, seed: 4)
        let clip = AudioClip(samples: samples.map { Float($0) / 32768 }, sampleRate: 44_100)
        try AudioPlayback.play(clip, device: "harkout", configuration: try filePlaybackConfiguration(output: out))
        // null accepts 44.1 kHz, so no conversion: the bytes are the clip's.
        #expect(try Data(contentsOf: out) == rawS16(samples))
    }

    @Test func invalidArgumentsThrowBeforeOpening() {
        #expect(throws: AudioError.self) { try AudioPlayback(device: "null", sampleRate: 0) }
        #expect(throws: AudioError.self) { try AudioPlayback(device: "null", channels: 0) }
        #expect(throws: AudioError.self) { try AudioPlayback(device: "null", periodFrames: -5) }
    }

    @Test func unknownPlaybackDeviceThrowsAClearError() {
        #expect {
            try AudioPlayback(device: "hw:7,3")
        } throws: { error in
            guard case let .deviceUnavailable(device, code, _)? = error as? AudioError else { return false }
            return device == "hw:7,3" && code < 0 && (error as! AudioError).description.contains("'hw:7,3'")
        }
    }
}

@Suite struct StreamConverterTests {
    @Test func mapsChannels() throws {
        let down = try StreamConverter(fromRate: 16_000, fromChannels: 2, toRate: 16_000, toChannels: 1)
        #expect(down.process([0.5, 0.25, -1, 1]) == [0.375, 0])
        let up = try StreamConverter(fromRate: 16_000, fromChannels: 1, toRate: 16_000, toChannels: 2)
        #expect(up.process([0.5, -0.25]) == [0.5, 0.5, -0.25, -0.25])
        let same = try StreamConverter(fromRate: 16_000, fromChannels: 3, toRate: 16_000, toChannels: 3)
        #expect(same.isIdentity && same.process([1, 2, 3]) == [1, 2, 3] && same.finish().isEmpty)
    }

    @Test func resamplesAStreamLikeTheOneShotResampler() throws {
        let input = (0..<48_000).map { Float(sin(Double($0) * 0.05)) * 0.5 }
        let converter = try StreamConverter(fromRate: 48_000, fromChannels: 1, toRate: 16_000, toChannels: 1)
        var out: [Float] = []
        for start in stride(from: 0, to: input.count, by: 4800) { out += converter.process(Array(input[start..<(start + 4800)])) }
        out += converter.finish()
        #expect(out == (try Resampler.resample(input, from: 48_000, to: 16_000)))

        let stereo = try StreamConverter(fromRate: 48_000, fromChannels: 1, toRate: 16_000, toChannels: 2)
        let both = stereo.process(input) + stereo.finish()
        #expect(both.count == 2 * out.count)
        #expect(stride(from: 0, to: both.count, by: 2).map { both[$0] } == out)
    }
}

@Suite struct AudioDeviceListingTests {
    @Test func listsTheNullDevice() throws {
        // Every ALSA installation advertises `null`, sound card or not.
        let devices = try AudioDevices.captureDevices()
        let null = try #require(devices.first { $0.name == "null" })
        #expect(null.canCapture && null.canPlay)
        #expect(!null.description.isEmpty)
        #expect(try AudioDevices.playbackDevices().contains(null))
        // Cards may or may not exist; enumeration must not throw either way.
        _ = try AudioDevices.soundCards()
    }
}
