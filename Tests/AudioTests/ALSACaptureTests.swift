import Foundation
import Testing
import HarkTestSupport
@testable import Audio

/// An ALSA configuration defining `pcm.harkfile`: the `file` plugin over a `null` slave,
/// substituting `infile`'s raw samples for what the slave captures.
func fileCaptureConfiguration(infile: URL) throws -> ALSAConfiguration {
    try ALSAConfiguration(text: ALSAFilePlugin.capture(infile: infile))
}

/// Raw S16_LE bytes of `samples`.
func rawS16(_ samples: [Int16]) -> Data {
    samples.withUnsafeBytes { Data($0) }
}

/// A deterministic test signal that uses the whole 16-bit range: a chirp plus noise, with the
/// extremes present.
func testSignal(count: Int, seed: UInt64 = 1) -> [Int16] {
    var rng = SplitMix64(seed: seed)
    var out = (0..<count).map { i -> Int16 in
        let chirp = 20_000 * sin(Double(i) * (0.01 + Double(i) * 1e-6))
        return Int16(clamping: Int(chirp) + Int.random(in: -3000...3000, using: &rng))
    }
    if count > 2 { out[1] = .min; out[2] = .max }
    return out
}

@Suite(.serialized) struct ALSACaptureTests {
    @Test func capturesExactlyTheFileThroughTheFilePlugin() throws {
        let dir = try TemporaryDirectory()
        let samples = testSignal(count: 16_000 * 2 + 123)   // not a whole number of periods
        let raw = dir.file("in.s16")
        try rawS16(samples).write(to: raw)
        let capture = try AudioCapture(device: "harkfile", configuration: try fileCaptureConfiguration(infile: raw))
        #expect(capture.deviceFormat.sampleFormat == "S16_LE")
        #expect(capture.deviceFormat.channels == 1 && capture.deviceFormat.sampleRate == 16_000)
        #expect(capture.inputFrameLimit == samples.count)
        var got: [Float] = []
        var reads = 0
        while let chunk = try capture.read() {
            #expect(chunk.count <= capture.deviceFormat.periodFrames)
            got += chunk
            reads += 1
        }
        #expect(reads == (samples.count + capture.deviceFormat.periodFrames - 1) / capture.deviceFormat.periodFrames)
        #expect(got.count == samples.count)
        #expect(got.map { Int16($0 * 32768) } == samples)
        #expect(try capture.read() == nil)
        #expect(capture.overruns == 0)
    }

    @Test func recoversFromOverrunAndSuspend() throws {
        let dir = try TemporaryDirectory()
        let samples = testSignal(count: 8000, seed: 2)
        let raw = dir.file("in.s16")
        try rawS16(samples).write(to: raw)
        let capture = try AudioCapture(device: "harkfile", periodFrames: 800, configuration: try fileCaptureConfiguration(infile: raw))
        let first = try #require(try capture.read())
        try capture.simulateReadError(-EPIPE)
        try capture.simulateReadError(-ESTRPIPE)
        #expect(capture.overruns == 2)
        // Reading continues after recovery, with the following samples of the file.
        let second = try #require(try capture.read())
        #expect((first + second).map { Int16($0 * 32768) } == Array(samples[0..<1600]))
    }

    @Test func lostDeviceIsReportedAsLost() throws {
        let dir = try TemporaryDirectory()
        let raw = dir.file("in.s16")
        try rawS16(testSignal(count: 1600)).write(to: raw)
        let capture = try AudioCapture(device: "harkfile", configuration: try fileCaptureConfiguration(infile: raw))
        #expect(throws: AudioError.deviceLost(device: "harkfile", code: -ENODEV, message: "No such device")) {
            try capture.simulateReadError(-ENODEV)
        }
    }

    @Test func deliversInterleavedStereo() throws {
        let dir = try TemporaryDirectory()
        let count = 16_000
        let tone = (0..<count).map { Int16(16_000 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }
        let raw = dir.file("in.s16")
        try rawS16(tone).write(to: raw)
        let config = try fileCaptureConfiguration(infile: raw)
        let handle = try AudioCapture(device: "harkfile", sampleRate: 16_000, channels: 2, configuration: config)
        #expect(handle.deviceFormat.channels == 2)   // null takes any channel count
        var stereo: [Float] = []
        while let chunk = try handle.read() { stereo += chunk }
        // Two channels of interleaved S16 from a mono file: the file's samples alternate L/R.
        #expect(stereo.count == count)
        #expect(stereo.map { Int16($0 * 32768) } == tone)
    }

    @Test func decodesThirtyTwoBitAndFloatDeviceFormats() throws {
        let dir = try TemporaryDirectory()
        let values: [Float] = (0..<3000).map { Float(($0 * 7919) % 2001 - 1000) / 1024 }   // exact in both
        let raw = dir.file("in.raw")
        let config = try fileCaptureConfiguration(infile: raw)
        for format in ["S32_LE", "FLOAT_LE"] {
            var bytes = Data()
            for v in values {
                let bits = format == "S32_LE" ? UInt32(bitPattern: Int32(v * 2_147_483_648)) : v.bitPattern
                withUnsafeBytes(of: bits.littleEndian) { bytes.append(contentsOf: $0) }
            }
            try bytes.write(to: raw)
            let capture = try AudioCapture(device: "harkfile", sampleRate: 16_000, channels: 1, periodFrames: 1000,
                                           configuration: config, sampleFormats: [format])
            #expect(capture.deviceFormat.sampleFormat == format)
            #expect(capture.inputFrameLimit == values.count)
            var got: [Float] = []
            while let chunk = try capture.read() { got += chunk }
            #expect(got == values, "\(format)")
        }
    }

    @Test func unknownDeviceThrowsAClearError() {
        do {
            _ = try AudioCapture(device: "no-such-hark-device")
            Issue.record("opening an unknown device must throw")
        } catch let error as AudioError {
            guard case let .deviceUnavailable(device, code, message) = error else {
                Issue.record("expected deviceUnavailable, got \(error)"); return
            }
            #expect(device == "no-such-hark-device")
            #expect(code == -ENOENT)
            #expect(message.contains("no-such-hark-device") || message.contains("No such file"))
            #expect(error.description.contains("'no-such-hark-device'"))
            #expect(error.description.contains("hark devices"))
        } catch {
            Issue.record("expected AudioError, got \(error)")
        }
    }

    @Test func badConfigurationTextThrows() {
        #expect {
            try ALSAConfiguration(text: "pcm.broken { type file ", source: "test text")
        } throws: { error in
            guard case let .invalidALSAConfiguration(source, code, _)? = error as? AudioError else { return false }
            return source == "test text" && code < 0
        }
    }

    @Test func invalidArgumentsThrowBeforeOpening() {
        #expect(throws: AudioError.self) { try AudioCapture(device: "null", sampleRate: 0) }
        #expect(throws: AudioError.self) { try AudioCapture(device: "null", channels: 0) }
        #expect(throws: AudioError.self) { try AudioCapture(device: "null", periodFrames: 0) }
    }
}

/// What `hark record --alsa-config <file plugin> --seconds 2 out.wav` does, through the library:
/// capture, write a 16-bit WAV, read it back: the samples must be the input file's.
@Suite(.serialized) struct RecordToWAVTests {
    @Test func recordedWAVEqualsTheInputSamples() throws {
        let dir = try TemporaryDirectory()
        let samples = testSignal(count: 32_000, seed: 9)
        let raw = dir.file("in.s16")
        try rawS16(samples).write(to: raw)
        let configURL = dir.file("harkfile.conf")
        try ALSAFilePlugin.capture(infile: raw).write(to: configURL, atomically: true, encoding: .utf8)
        let config = try ALSAConfiguration(contentsOf: configURL)
        #expect(config.definedPCMNames == ["harkfile"])
        #expect(config.string(at: "pcm.harkfile.infile") == raw.path)
        #expect(config.string(at: "pcm.null.type") == "null")   // the system configuration is underneath

        let capture = try AudioCapture(device: "harkfile", configuration: config)
        var recorded: [Float] = []
        while recorded.count < 2 * 16_000, let chunk = try capture.read() { recorded += chunk }
        let out = dir.file("out.wav")
        try WAVWriter.write(AudioClip(samples: recorded, sampleRate: 16_000), to: out)

        let wav = try WAVReader.read(contentsOf: out)
        #expect(wav.formatTag == 1 && wav.bitsPerSample == 16 && wav.channels == 1 && wav.sampleRate == 16_000)
        let bytes = try Data(contentsOf: out)
        #expect(bytes.count == 44 + 64_000)
        #expect(bytes.suffix(64_000) == rawS16(samples))
    }
}
