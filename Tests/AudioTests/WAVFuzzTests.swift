import Foundation
import HarkTestSupport
import Testing
@testable import Audio

/// Feeds mutated WAV files to the reader: each must parse into a consistent `WAVFile` or throw
/// an `AudioError`, never crash and never allocate more than the input justifies.
@Suite struct WAVFuzzTests {
    static func seeds() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        let formats: [WAVBuilder.Sample] = [.int(bits: 8), .int(bits: 16), .int(bits: 24), .int(bits: 32), .float(bits: 32), .float(bits: 64)]
        for (i, format) in formats.enumerated() {
            var builder = WAVBuilder()
            builder.sample = format
            builder.channels = 1 + i % 3
            builder.sampleRate = [8000, 16000, 44_100][i % 3]
            builder.extensible = i % 2 == 1
            if i % 3 == 0 { builder.extraChunks = [("LIST", Array("INFOabc".utf8))] }
            let samples = (0..<(builder.channels * 24)).map { sin(Double($0) * 0.3) * 0.8 }
            seeds.append(builder.build(samples: samples))
        }
        return seeds
    }

    /// Header offsets of interesting fields in a plain seed: sizes, tag, channels, rate, bits.
    static let fieldOffsets = [4, 16, 20, 22, 24, 28, 32, 34, 36, 40]
    static let extremes: [UInt32] = [0, 1, 2, 3, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        let mutations = Int.random(in: 1...4, using: &rng)
        for _ in 0..<mutations {
            guard !bytes.isEmpty else { break }
            switch Int.random(in: 0..<7, using: &rng) {
            case 0, 1:  // flip bits in the header region, where the parser makes decisions
                let i = Int.random(in: 0..<min(bytes.count, 80), using: &rng)
                bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
            case 2:     // an extreme value in a header field
                let offset = fieldOffsets.randomElement(using: &rng)!
                let value = extremes.randomElement(using: &rng)!
                let width = Bool.random(using: &rng) ? 2 : 4
                for k in 0..<width where offset + k < bytes.count {
                    bytes[offset + k] = UInt8((value >> (8 * UInt32(k))) & 0xFF)
                }
            case 3:     // truncate
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
            case 4:     // random bytes appended or inserted
                let extra = (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                bytes.insert(contentsOf: extra, at: Int.random(in: 0...bytes.count, using: &rng))
            case 5:     // a random byte anywhere
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            default:    // a chunk header with a random size spliced in after the RIFF header
                let id = ["LIST", "fmt ", "data", "junk", "fact"].randomElement(using: &rng)!
                let size = extremes.randomElement(using: &rng)!
                bytes.insert(contentsOf: Array(id.utf8) + le(size, 4), at: min(12, bytes.count))
            }
        }
        return bytes
    }

    @Test func tenThousandMutatedFilesParseOrThrow() {
        var rng = SplitMix64(seed: 0x4841_524B)  // "HARK"
        let seeds = Self.seeds()
        var parsed = 0
        var rejected: [String: Int] = [:]
        for iteration in 0..<12_000 {
            let bytes = Self.mutate(seeds[iteration % seeds.count], &rng)
            do {
                let wav = try WAVReader.read(data: Data(bytes), source: "fuzz-\(iteration)")
                parsed += 1
                // Memory bounded by input: a sample is at least one byte.
                #expect(wav.samples.count <= bytes.count, "iteration \(iteration)")
                #expect(wav.channels > 0 && wav.sampleRate > 0, "iteration \(iteration)")
                #expect(wav.samples.count % wav.channels == 0, "iteration \(iteration)")
                #expect([8, 16, 24, 32, 64].contains(wav.bitsPerSample), "iteration \(iteration)")
                let mono = wav.mono()
                #expect(mono.samples.count == wav.frameCount)
                if !wav.isFloatingPoint {
                    #expect(wav.samples.allSatisfy { $0 >= -1 && $0 < 1 }, "iteration \(iteration)")
                }
            } catch let error as AudioError {
                let kind = String(describing: error).prefix(while: { $0 != " " })
                rejected[String(kind), default: 0] += 1
                #expect(error.description.contains("fuzz-\(iteration)"), "error must name its input: \(error)")
            } catch {
                Issue.record("iteration \(iteration): non-AudioError \(error)")
            }
        }
        // Both outcomes must be common, or the mutations are not exercising the parser.
        #expect(parsed > 1000)
        #expect(rejected.values.reduce(0, +) > 1000)
    }
}
