import Foundation
import HarkTestSupport
import Testing

import ASR

/// Log-mel features against the numpy reference (scripts/reference/whisper_reference.py).
@Suite struct FeaturesTests {
    struct MelClip: Decodable {
        let name, file, source: String
        let samples, bins, frames, totalFrames, audioFrames: Int
    }
    struct MelReference: Decodable {
        let clips: [MelClip]
        let filterRows80: [String: [Float]]
        let filterSums80: [Float]
    }

    static let fixtureDir = ProjectPaths.fixtures.appendingPathComponent("asr")
    static let tolerance: Float = 1e-4

    static func reference() throws -> MelReference {
        let data = try Data(contentsOf: fixtureDir.appendingPathComponent("mel_reference.json"))
        return try JSONDecoder().decode(MelReference.self, from: data)
    }

    /// Bin-major float32 little-endian values of a stored mel slice.
    static func storedMel(_ clip: MelClip) throws -> [Float] {
        let data = try Data(contentsOf: fixtureDir.appendingPathComponent(clip.file))
        try #require(data.count == clip.bins * clip.frames * 4)
        return data.withUnsafeBytes { raw in
            (0..<(clip.bins * clip.frames)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The synthetic signal of the reference script, built the same way (in Double, then Float).
    static func syntheticSignal() -> [Float] {
        (0..<24000).map { n in
            let t = Double(n) / 16000
            let envelope = min(1.0, Double(n) / 4000)
            let x = 0.4 * sin(2 * Double.pi * 440 * t) + 0.2 * sin(2 * Double.pi * 3150 * t)
                + 0.1 * sin(2 * Double.pi * 97 * t)
            return Float(envelope * x)
        }
    }

    static func samples(of clip: MelClip) throws -> [Float] {
        clip.name == "synthetic" ? syntheticSignal() : try TestWAV.read(ProjectPaths.corpus.appendingPathComponent(clip.source))
    }

    /// Largest absolute difference between `mel` (first `frames` frames) and the stored slice.
    static func maxDifference(_ mel: MelFeatures, _ stored: [Float], storedFrames: Int, frames: Int) -> Float {
        var worst: Float = 0
        for bin in 0..<mel.bins {
            for frame in 0..<frames {
                worst = max(worst, abs(mel[bin, frame] - stored[bin * storedFrames + frame]))
            }
        }
        return worst
    }

    @Test(arguments: ["librivox_0880", "synthetic"])
    func matchesReferenceWithin1e4(name: String) throws {
        let reference = try Self.reference()
        let clip = try #require(reference.clips.first { $0.name == name })
        let audio = try Self.samples(of: clip)
        #expect(audio.count == clip.samples)
        let stored = try Self.storedMel(clip)

        let mel = LogMelSpectrogram().compute(audio)
        #expect(mel.bins == 80)
        #expect(mel.frames == clip.totalFrames)
        let worst = Self.maxDifference(mel, stored, storedFrames: clip.frames, frames: clip.frames)
        #expect(worst <= Self.tolerance, "max |hark - reference| = \(worst)")
    }

    @Test(arguments: ["librivox_0880", "synthetic"])
    func unpaddedEqualsPrefixOfPadded(name: String) throws {
        let reference = try Self.reference()
        let clip = try #require(reference.clips.first { $0.name == name })
        let audio = try Self.samples(of: clip)
        let spectrogram = LogMelSpectrogram()
        let padded = spectrogram.compute(audio)
        let short = spectrogram.compute(audio, padToSeconds: nil)
        #expect(short.frames == clip.audioFrames)
        #expect(short.frames == audio.count / 160)
        for bin in 0..<80 {
            for frame in 0..<short.frames {
                #expect(short[bin, frame] == padded[bin, frame], "bin \(bin) frame \(frame)")
            }
        }
        let stored = try Self.storedMel(clip)
        #expect(Self.maxDifference(short, stored, storedFrames: clip.frames, frames: short.frames) <= Self.tolerance)
    }

    @Test func filterBankMatchesLibrosaSlaney() throws {
        let reference = try Self.reference()
        let bank = MelFilterBank(sampleRate: 16000, fftSize: 400, melBins: 80)
        let dense = bank.dense
        #expect(dense.count == 80 * 201)
        for (row, expected) in reference.filterRows80 {
            let m = try #require(Int(row))
            for k in 0..<201 {
                #expect(abs(dense[m * 201 + k] - expected[k]) <= 1e-7 * max(1, abs(expected[k])) + 1e-9, "filter \(m) bin \(k)")
            }
        }
        for m in 0..<80 {
            let sum = dense[(m * 201)..<((m + 1) * 201)].reduce(0, +)
            #expect(abs(sum - reference.filterSums80[m]) <= 1e-5 * reference.filterSums80[m])
        }
    }

    @Test func shapesPaddingAndTrimming() {
        let spectrogram = LogMelSpectrogram()
        #expect(spectrogram.compute([Float](repeating: 0.1, count: 16000)).frames == 3000)
        #expect(spectrogram.compute([Float](repeating: 0.1, count: 40 * 16000)).frames == 3000)
        #expect(spectrogram.compute([Float](repeating: 0.1, count: 16000), padToSeconds: 10).frames == 1000)
        #expect(spectrogram.compute([Float](repeating: 0.1, count: 16080), padToSeconds: nil).frames == 100)
        #expect(spectrogram.compute([], padToSeconds: nil).frames == 0)
        #expect(spectrogram.compute([0.5, -0.5, 0.25], padToSeconds: nil).frames == 0)
        let large = LogMelSpectrogram(melBins: 128).compute(Self.syntheticSignal())
        #expect(large.bins == 128 && large.frames == 3000 && large.values.count == 128 * 3000)
    }

    /// Trimming keeps the first 30 s: the features of 40 s of audio equal those of its first 30 s.
    @Test func trimmingKeepsTheFirstThirtySeconds() {
        var audio = [Float](repeating: 0, count: 40 * 16000)
        for i in audio.indices { audio[i] = Float(sin(Double(i) * 0.05)) * (i < 30 * 16000 ? 0.3 : 0.9) }
        let spectrogram = LogMelSpectrogram()
        #expect(spectrogram.compute(audio) == spectrogram.compute(Array(audio[0..<(30 * 16000)])))
    }

    /// Silence gives log10(1e-10) everywhere: (-10 + 4) / 4 = -1.5.
    @Test func silenceIsTheFloor() {
        let mel = LogMelSpectrogram().compute([Float](repeating: 0, count: 8000))
        #expect(mel.values.allSatisfy { $0 == -1.5 })
    }

    /// The floor: nothing is more than 8 (log10 units) below the maximum, i.e. 2 after scaling.
    @Test func dynamicRangeIsEightDecades() {
        let mel = LogMelSpectrogram().compute(Self.syntheticSignal())
        let top = mel.values.max()!, bottom = mel.values.min()!
        #expect(abs((top - bottom) - 2) < 1e-6)
    }

    /// A 1 kHz tone peaks in the mel bin whose band holds 1 kHz.
    @Test func toneLandsInItsMelBin() {
        let tone = (0..<16000).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 16000)) }
        let mel = LogMelSpectrogram().compute(tone, padToSeconds: nil)
        let frame = 50
        let loudest = (0..<80).max { mel[$0, frame] < mel[$1, frame] }!
        let centerMel = MelFilterBank.hzToMel(1000)
        let expected = Int((centerMel / MelFilterBank.hzToMel(8000) * 81).rounded()) - 1
        #expect(abs(loudest - expected) <= 1, "loudest bin \(loudest), expected about \(expected)")
    }

    /// One instance shared by concurrent tasks gives the same result as a serial call.
    @Test func concurrentComputeIsConsistent() async {
        let spectrogram = LogMelSpectrogram()
        let audio = Self.syntheticSignal()
        let serial = spectrogram.compute(audio)
        let results = await withTaskGroup(of: MelFeatures.self) { group in
            for _ in 0..<4 { group.addTask { spectrogram.compute(audio) } }
            var all: [MelFeatures] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 4)
        for r in results { #expect(r == serial) }
    }
}

/// A minimal reader for the corpus' 16-bit PCM mono WAV files (tests only; the Audio module
/// owns the real reader).
enum TestWAV {
    struct Malformed: Error { let reason: String }

    static func read(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return try data.withUnsafeBytes { raw -> [Float] in
            func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
            func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
            guard raw.count >= 12, u32(0) == 0x4646_4952, u32(8) == 0x4556_4157 else { throw Malformed(reason: "not RIFF/WAVE") }
            var offset = 12
            var bits = 0, channels = 0
            while offset + 8 <= raw.count {
                let id = u32(offset), size = Int(u32(offset + 4))
                let body = offset + 8
                if id == 0x2074_6D66 {  // "fmt "
                    channels = Int(u16(body + 2)); bits = Int(u16(body + 14))
                } else if id == 0x6174_6164 {  // "data"
                    guard bits == 16, channels == 1 else { throw Malformed(reason: "want 16-bit mono") }
                    let count = min(size, raw.count - body) / 2
                    return (0..<count).map { Float(Int16(bitPattern: u16(body + 2 * $0))) / 32768 }
                }
                offset = body + size + (size & 1)
            }
            throw Malformed(reason: "no data chunk")
        }
    }
}
