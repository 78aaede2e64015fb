import Foundation
import Testing
import HarkTestSupport
@testable import Audio

/// Samples k/128 are exact in every format we read, so round trips compare with `==`.
private func exactRamp(count: Int) -> [Double] {
    (0..<count).map { Double(($0 * 37) % 256 - 128) / 128 }
}

private func read(_ bytes: [UInt8], _ source: String = "test.wav") throws -> WAVFile {
    try WAVReader.read(data: Data(bytes), source: source)
}

private func audioError(_ body: () throws -> Any) -> AudioError? {
    do {
        _ = try body()
        return nil
    } catch let error as AudioError {
        return error
    } catch {
        Issue.record("expected AudioError, got \(type(of: error)): \(error)")
        return nil
    }
}

@Suite struct WAVReadingTests {
    static let formats: [WAVBuilder.Sample] = [
        .int(bits: 8), .int(bits: 16), .int(bits: 24), .int(bits: 32), .float(bits: 32), .float(bits: 64),
    ]

    @Test(arguments: formats, [false, true])
    func readsEveryFormat(sample: WAVBuilder.Sample, extensible: Bool) throws {
        for channels in [1, 2, 3, 6] {
            var builder = WAVBuilder()
            builder.sample = sample
            builder.channels = channels
            builder.sampleRate = 22_050
            builder.extensible = extensible
            let expected = exactRamp(count: channels * 301)
            let wav = try read(builder.build(samples: expected))
            #expect(wav.channels == channels)
            #expect(wav.sampleRate == 22_050)
            #expect(wav.bitsPerSample == builder.bits)
            #expect(wav.formatTag == (extensible ? 0xFFFE : (wav.isFloatingPoint ? 3 : 1)))
            #expect(wav.frameCount == 301)
            #expect(wav.samples == expected.map(Float.init))
            #expect(!wav.dataSizeFromEndOfInput)
        }
    }

    @Test func scalesIntegerExtremes() throws {
        var builder = WAVBuilder()
        builder.sample = .int(bits: 24)
        let raw = le(0x7F_FFFF, 3) + le(0x80_0000, 3) + le(0xFF_FFFF, 3)
        let wav = try read(builder.build(rawData: raw))
        #expect(wav.samples == [Float(8_388_607) / 8_388_608, -1, -1 / Float(8_388_608)])

        builder.sample = .int(bits: 8)
        #expect(try read(builder.build(rawData: [0, 128, 255])).samples == [-1, 0, 127 / 128])
    }

    @Test func downmixesToMonoByAveraging() throws {
        var builder = WAVBuilder()
        builder.channels = 2
        let wav = try read(builder.build(samples: [0.5, -0.25, 1.0 - 1 / 128, 0, -1, -1]))
        let clip = wav.mono()
        #expect(clip.sampleRate == 16000)
        #expect(clip.samples == [0.125, Float(1.0 - 1 / 128) / 2, -1])
        #expect(wav.channel(1) == [-0.25, 0, -1])
    }

    @Test func skipsUnknownChunksAndPadding() throws {
        var builder = WAVBuilder()
        builder.extraChunks = [("LIST", Array("INFOISFT\u{3}\0\0\0ab\0".utf8)), ("odd ", [1, 2, 3]), ("fact", le(4, 4))]
        let expected = exactRamp(count: 50)
        #expect(try read(builder.build(samples: expected)).samples == expected.map(Float.init))
    }

    @Test func readsOddSizedDataFollowedByAChunk() throws {
        var builder = WAVBuilder()
        builder.sample = .int(bits: 8)
        var bytes = builder.build(samples: [0.5, -0.5, 0.25])   // 3 data bytes + pad byte
        bytes += Array("LIST".utf8) + le(4, 4) + [1, 2, 3, 4]
        let wav = try read(bytes)
        #expect(wav.samples == [0.5, -0.5, 0.25])
    }

    @Test func readsDataChunkBeforeFormatChunk() throws {
        let samples: [Double] = [0.5, -0.5]
        let data = WAVBuilder().encodeSamples(samples)
        let full = WAVBuilder().build(samples: samples)
        let fmt = Array(full[12..<36])
        var body = Array("WAVE".utf8) + Array("data".utf8) + le(UInt32(data.count), 4) + data + fmt
        body = Array("RIFF".utf8) + le(UInt32(body.count), 4) + body
        #expect(try read(body).samples == [0.5, -0.5])
    }

    @Test func streamedSizeReadsToEndOfInput() throws {
        let expected = exactRamp(count: 40)
        for field: UInt32 in [0xFFFF_FFFF, 0] {
            var builder = WAVBuilder()
            builder.channels = 2
            builder.dataSizeField = field
            var bytes = builder.build(samples: expected)
            bytes += [0x12]   // half a sample at the end: dropped, whole frames only
            let wav = try read(bytes)
            #expect(wav.samples == expected.map(Float.init), "data size field \(field)")
            #expect(wav.dataSizeFromEndOfInput)
        }
    }

    @Test func zeroSizedDataFollowedByAChunkIsEmpty() throws {
        var builder = WAVBuilder()
        builder.dataSizeField = 0
        let bytes = builder.build(rawData: []) + Array("LIST".utf8) + le(4, 4) + [0x41, 0x42, 0x43, 0x44]
        let wav = try read(bytes)
        #expect(wav.samples.isEmpty)
        #expect(wav.duration == 0)
    }

    @Test func headerClaimingGigabytesReadsOnlyWhatIsThere() throws {
        var builder = WAVBuilder()
        builder.dataSizeField = 0xF000_0000  // 3.75 GiB
        builder.channels = 3
        let expected = exactRamp(count: 3 * 10)
        let wav = try read(builder.build(samples: expected))
        #expect(wav.samples == expected.map(Float.init))
        #expect(wav.dataSizeFromEndOfInput)
    }

    @Test func hugeChannelCountIsBoundedByInput() throws {
        var builder = WAVBuilder()
        builder.channels = 65535
        builder.sampleRate = 0x7FFF_FFFF
        builder.dataSizeField = 0xFFFF_FFF0
        let wav = try read(builder.build(rawData: [1, 2, 3, 4]))
        #expect(wav.samples.isEmpty)   // not even one frame of 65535 channels
    }
}

@Suite struct WAVErrorTests {
    @Test func emptyAndGarbageAreNotWAV() {
        #expect(audioError { try read([]) } == .notWAV(file: "test.wav", found: "an empty file"))
        let garbage = Array("hello, this is not audio at all".utf8)
        guard case let .notWAV(file, found)? = audioError({ try read(garbage) }) else {
            Issue.record("garbage must be notWAV"); return
        }
        #expect(file == "test.wav")
        #expect(found.contains("hell"))
    }

    @Test func namesMP3Files() {
        let id3 = Array("ID3".utf8) + [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(audioError { try read(id3, "song.mp3") }?.description.contains("MP3") == true)
        #expect(audioError { try read([0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 20)) }?
            .description.contains("MP3") == true)
    }

    @Test(arguments: [(UInt16(0x55), "MP3"), (7, "mu-law"), (6, "A-law"), (2, "Microsoft ADPCM"), (0x11, "IMA ADPCM"), (0x1234, "an unknown codec")])
    func rejectsCompressedEncodings(tag: UInt16, name: String) throws {
        for extensible in [false, true] {
            var builder = WAVBuilder()
            builder.sample = .int(bits: 8)
            builder.formatTag = tag
            builder.extensible = extensible
            let error = audioError { try read(builder.build(rawData: [1, 2, 3, 4]), "speech.wav") }
            #expect(error == .unsupportedEncoding(file: "speech.wav", formatTag: tag, name: name))
            let text = error?.description ?? ""
            #expect(text.contains("speech.wav") && text.contains(name))
        }
    }

    @Test func rejectsZeroChannelsAndZeroRate() {
        var builder = WAVBuilder()
        builder.channels = 0
        guard case let .invalidHeader(file, offset, field, value, _)? = audioError({ try read(builder.build(rawData: [0, 0])) }) else {
            Issue.record("zero channels must be an invalid header"); return
        }
        #expect(file == "test.wav" && offset == 22 && field == "channel count" && value == 0)

        builder = WAVBuilder()
        builder.sampleRate = 0
        guard case let .invalidHeader(_, offset2, field2, value2, _)? = audioError({ try read(builder.build(rawData: [0, 0])) }) else {
            Issue.record("zero rate must be an invalid header"); return
        }
        #expect(offset2 == 24 && field2 == "sample rate" && value2 == 0)
    }

    @Test func rejectsImpossibleBitDepths() {
        let cases: [(WAVBuilder.Sample, Int)] = [(.int(bits: 12), 12), (.int(bits: 0), 0), (.float(bits: 16), 16), (.int(bits: 64), 64)]
        for (sample, bits) in cases {
            var builder = WAVBuilder()
            builder.sample = sample
            let error = audioError { try read(builder.build(rawData: [0, 0, 0, 0])) }
            guard case let .invalidHeader(_, _, field, value, _)? = error else {
                Issue.record("\(bits)-bit must be rejected, got \(String(describing: error))"); continue
            }
            #expect(field == "bits per sample" && value == bits)
        }
    }

    @Test func everyTruncatedHeaderThrows() {
        let bytes = WAVBuilder().build(samples: exactRamp(count: 8))
        for length in 0..<44 {
            let error = audioError { try read(Array(bytes[0..<length])) }
            #expect(error != nil, "prefix of \(length) bytes must throw")
            switch error {
            case .notWAV?, .truncated?, .missingChunk?: break
            default: Issue.record("prefix \(length): unexpected \(String(describing: error))")
            }
        }
        #expect(audioError { try read(Array(bytes[0..<30])) } == .truncated(file: "test.wav", offset: 30, expected: "the 16-byte 'fmt ' chunk"))
    }

    @Test func missingChunksAreNamed() {
        let fmtOnly = Array(WAVBuilder().build(rawData: [])[0..<36])
        var riff = Array("RIFF".utf8) + le(28, 4) + Array(fmtOnly[8...])
        #expect(audioError { try read(riff) } == .missingChunk(file: "test.wav", chunk: "data"))
        riff = Array("RIFF".utf8) + le(16, 4) + Array("WAVEdata".utf8) + le(2, 4) + [0, 0]
        #expect(audioError { try read(riff) } == .missingChunk(file: "test.wav", chunk: "fmt "))
    }

    @Test func otherRIFFFlavoursAreNamed() {
        var bytes = WAVBuilder().build(samples: [0])
        bytes[3] = UInt8(ascii: "X")
        #expect(audioError { try read(bytes) }?.description.contains("RIFX") == true)
        bytes = WAVBuilder().build(samples: [0])
        bytes[8...11] = ArraySlice(Array("AVI ".utf8))
        #expect(audioError { try read(bytes) }?.description.contains("AVI") == true)
    }

    @Test func unreadableFileNamesThePath() {
        let error = audioError { try WAVReader.read(contentsOf: URL(fileURLWithPath: "/nonexistent/hark/nothing.wav")) }
        guard case let .unreadable(file, reason)? = error else { Issue.record("expected unreadable"); return }
        #expect(file == "/nonexistent/hark/nothing.wav")
        #expect(!reason.isEmpty)
        #expect(error!.description.contains("/nonexistent/hark/nothing.wav"))
    }
}

@Suite struct WAVWritingTests {
    @Test func pcm16RoundTripsExactly() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("out.wav")
        let samples = (0..<1000).map { Float(($0 * 7919) % 65536 - 32768) / 32768 }
        let clip = AudioClip(samples: samples, sampleRate: 16000)
        try WAVWriter.write(clip, to: url)
        let back = try WAVReader.read(contentsOf: url)
        #expect(back.formatTag == 1 && back.bitsPerSample == 16 && back.channels == 1 && back.sampleRate == 16000)
        #expect(back.samples == samples)
        #expect(try AudioClip.load(url.path, sampleRate: nil) == clip)
        #expect(try Data(contentsOf: url).count == 44 + 2000)
        // Atomic write: nothing else left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["out.wav"])
    }

    @Test func pcm16ClipsAndZeroesNaN() throws {
        let data = try WAVWriter.encode(AudioClip(samples: [2, -2, .nan, .infinity, 0.5], sampleRate: 8000))
        let back = try WAVReader.read(data: data, source: "memory")
        let top: Float = 32767.0 / 32768.0
        let expected: [Float] = [top, -1, 0, top, 0.5]
        #expect(back.samples == expected)
    }

    @Test func float32RoundTripsExactly() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("f.wav")
        let samples: [Float] = [0.1, -0.3, 1.5, -2, .leastNonzeroMagnitude, 0]
        try WAVWriter.write(AudioClip(samples: samples, sampleRate: 44_100), to: url, encoding: .float32)
        let back = try WAVReader.read(contentsOf: url)
        #expect(back.formatTag == 3 && back.bitsPerSample == 32 && back.sampleRate == 44_100)
        #expect(back.samples == samples)
    }

    @Test func writeIntoMissingFolderNamesThePath() {
        let url = URL(fileURLWithPath: "/nonexistent/hark/out.wav")
        let error = audioError { try WAVWriter.write(AudioClip(samples: [0], sampleRate: 16000), to: url) }
        guard case let .unwritable(file, _)? = error else { Issue.record("expected unwritable"); return }
        #expect(file == url.path)
    }

    @Test func rejectsNonPositiveRate() {
        let error = audioError { try WAVWriter.encode(AudioClip(samples: [0], sampleRate: 0)) }
        guard case .invalidArgument? = error else { Issue.record("expected invalidArgument"); return }
    }

    @Test func loadResamplesAndDownmixes() throws {
        let dir = try TemporaryDirectory()
        var builder = WAVBuilder()
        builder.channels = 2
        builder.sampleRate = 48_000
        builder.sample = .float(bits: 32)
        let frames = 4800
        let interleaved = (0..<frames).flatMap { i -> [Double] in
            let s = 0.5 * sin(2 * Double.pi * 440 * Double(i) / 48_000)
            return [s, s]
        }
        let url = dir.file("stereo48k.wav")
        try Data(builder.build(samples: interleaved)).write(to: url)
        let clip = try AudioClip.load(url.path)
        #expect(clip.sampleRate == 16000)
        #expect(clip.samples.count == 1600)
        // The middle of the clip is the same sine at 16 kHz.
        for i in 200..<1400 {
            #expect(abs(clip.samples[i] - Float(0.5 * sin(2 * Double.pi * 440 * Double(i) / 16_000))) < 1e-3)
        }
        #expect(abs(clip.duration - 0.1) < 1e-9)
    }
}
