import Foundation
import Testing
import HarkTestSupport
@testable import Audio

/// The conversion paths of capture and playback, driven through the file plugin by asking the
/// device for another rate and channel count than the caller uses (as real hardware that only
/// runs at 48 kHz stereo would force).
@Suite(.serialized) struct ALSAConversionTests {
    @Test func captureFrom48kStereoDeliversResampled16kMono() throws {
        let dir = try TemporaryDirectory()
        let frames = 48_000
        var interleaved: [Int16] = []
        for i in 0..<frames {
            let t = Double(i) / 48_000
            interleaved.append(Int16(12_000 * sin(2 * Double.pi * 1000 * t)))   // left
            interleaved.append(Int16(6_000 * sin(2 * Double.pi * 1000 * t)))    // right
        }
        let raw = dir.file("in48k.s16")
        try rawS16(interleaved).write(to: raw)
        let capture = try AudioCapture(device: "harkfile", sampleRate: 16_000, channels: 1, periodFrames: 1600,
                                       configuration: try fileCaptureConfiguration(infile: raw), sampleFormats: nil,
                                       deviceRate: 48_000, deviceChannels: 2)
        #expect(capture.deviceFormat.sampleRate == 48_000 && capture.deviceFormat.channels == 2)
        #expect(capture.deviceFormat.periodFrames == 4800)
        var got: [Float] = []
        while let chunk = try capture.read() { got += chunk }
        // Exactly what averaging the channels and resampling the whole signal at once gives.
        let mono = (0..<frames).map { (Float(interleaved[2 * $0]) / 32768 + Float(interleaved[2 * $0 + 1]) / 32768) * 0.5 }
        let expected = try Resampler.resample(mono, from: 48_000, to: 16_000)
        #expect(got.count == 16_000)
        #expect(got == expected)
    }

    @Test func playback16kMonoOn48kStereoDevice() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("out48k.raw")
        let clip = (0..<8000).map { Float(0.4 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }
        do {
            let playback = try AudioPlayback(device: "harkout", sampleRate: 16_000, channels: 1, periodFrames: 1600,
                                             configuration: try filePlaybackConfiguration(output: out),
                                             deviceRate: 48_000, deviceChannels: 2)
            #expect(playback.deviceFormat.sampleRate == 48_000 && playback.deviceFormat.channels == 2)
            try playback.write(Array(clip[0..<3000]))
            try playback.write(Array(clip[3000...]))
            try playback.drain()
        }
        let upsampled = try Resampler.resample(clip, from: 16_000, to: 48_000)
        let expected = upsampled.flatMap { [PCMConversion.int16($0), PCMConversion.int16($0)] }
        #expect(expected.count == 2 * 24_000)
        #expect(try Data(contentsOf: out) == rawS16(expected))
    }
}
