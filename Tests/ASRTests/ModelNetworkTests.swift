import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// The network on a tiny random-weight Whisper written by the test: shapes, normalisation, and
/// that the KV cache, batching and beam reordering give the same numbers as plain decoding.
@Suite struct ModelNetworkTests {
    static let model: Result<WhisperModel, Error> = Result {
        let dir = try TemporaryDirectory()
        try TinyWhisper.write(to: dir.file("model.bin"))
        return try WhisperModel(modelDirectory: dir.url)
    }

    static func randomMel(frames: Int, seed: UInt64) -> [Float] {
        var rng = HarkTestSupport.SplitMix64(seed: seed)
        return (0..<(80 * frames)).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    static func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-4) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test func dimensionsComeFromTheFile() throws {
        let dims = try Self.model.get().dimensions
        #expect(dims == WhisperDimensions(melBins: 80, audioContext: 1500, textContext: 448, width: 8, heads: 2,
                                          encoderLayers: 1, decoderLayers: 1, vocabularySize: 51864))
    }

    @Test func encoderOutputShapeAndFinalNorm() throws {
        let model = try Self.model.get()
        let output = try model.encode(mel: Self.randomMel(frames: 3000, seed: 1), frames: 3000)
        #expect(output.frames == 1500 && output.width == 8)
        #expect(output.values.allSatisfy { $0.isFinite })
        // The final layer norm has gamma 1, beta 0: every row has mean 0 and variance ~1.
        for row in stride(from: 0, to: 1500, by: 97) {
            let values = output.values[(row * 8)..<(row * 8 + 8)]
            let mean = values.reduce(0, +) / 8
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
            #expect(abs(mean) < 1e-4)
            #expect(abs(variance - 1) < 1e-2)
        }
        let short = try model.encode(mel: Self.randomMel(frames: 400, seed: 2), frames: 400)
        #expect(short.frames == 200)
        #expect(throws: ASRError.self) { try model.encode(mel: Self.randomMel(frames: 401, seed: 2), frames: 401) }
        #expect(throws: ASRError.self) { try model.encode(mel: [1, 2, 3], frames: 3000) }
    }

    @Test func kvCacheGivesTheSameLogitsAsOnePass() throws {
        let model = try Self.model.get()
        let encoded = try model.encode(mel: Self.randomMel(frames: 3000, seed: 3), frames: 3000)
        let tokens = [50257, 50362, 440, 2068, 7586]
        let whole = DecoderSession(model: model, encoderOutput: encoded)
        let onePass = try whole.forward([tokens]).last[0]
        let stepwise = DecoderSession(model: model, encoderOutput: encoded)
        var last: [Float] = []
        for token in tokens { last = try stepwise.forward([[token]]).last[0] }
        #expect(Self.close(onePass, last))
        #expect(stepwise.length == tokens.count)
        // Position-dependence: the same token later in the sequence gives other logits.
        let fresh = DecoderSession(model: model, encoderOutput: encoded)
        #expect(!Self.close(try fresh.forward([[7586]]).last[0], last))
    }

    @Test func batchedHypothesesMatchSingleOnesAfterReordering() throws {
        let model = try Self.model.get()
        let encoded = try model.encode(mel: Self.randomMel(frames: 3000, seed: 4), frames: 3000)
        let prompt = [50257, 50363]
        let continuations = [[11, 22], [33, 44], [55, 66]]
        func single(_ extra: [Int]) throws -> [Float] {
            let session = DecoderSession(model: model, encoderOutput: encoded)
            return try session.forward([prompt + extra]).last[0]
        }
        let batched = DecoderSession(model: model, encoderOutput: encoded)
        _ = try batched.forward([prompt])
        batched.expand(to: 3)
        _ = try batched.forward(continuations.map { [$0[0]] })
        // Hypothesis i continues from old hypothesis order[i].
        let order = [2, 0, 0]
        batched.reorder(order)
        let next = try batched.forward(order.enumerated().map { [continuations[$0.element][1] + $0.offset] })
        for (i, source) in order.enumerated() {
            let expected = try single([continuations[source][0], continuations[source][1] + i])
            #expect(Self.close(next.last[i], expected), "hypothesis \(i)")
        }
        // Shrinking keeps the chosen hypotheses.
        batched.select([1])
        let shrunk = try batched.forward([[99]]).last[0]
        #expect(Self.close(shrunk, try single([continuations[0][0], continuations[0][1] + 1, 99])))
    }

    @Test func decoderRejectsBadInput() throws {
        let model = try Self.model.get()
        let encoded = try model.encode(mel: Self.randomMel(frames: 200, seed: 5), frames: 200)
        let session = DecoderSession(model: model, encoderOutput: encoded)
        #expect(throws: ASRError.self) { try session.forward([[60000]]) }
        #expect(throws: ASRError.self) { try session.forward([[]]) }
        #expect(throws: ASRError.self) { try session.forward([[Int]](repeating: [1], count: 2)) }
        #expect(throws: ASRError.self) { try session.forward([[Int](repeating: 1, count: 449)]) }
    }
}
