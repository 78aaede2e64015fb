import CKernels
import Foundation
import HarkTestSupport
import Testing
import VAD

/// A reference fixture written by scripts/reference/vad_reference.py.
struct VADReference: Decodable {
    struct Source: Decodable { let base: String; let path: String }
    let source: Source
    let samples: Int
    let probabilities: [Float]
    let stock_onnx_probabilities: [Float]

    static func load(_ name: String) throws -> VADReference {
        let url = ProjectPaths.fixtures.appendingPathComponent("vad/\(name).json")
        return try JSONDecoder().decode(VADReference.self, from: Data(contentsOf: url))
    }

    func audio() throws -> [Float] {
        let base = source.base == "corpus" ? ProjectPaths.corpus : ProjectPaths.fixtures
        return try readPCM16Wav(base.appendingPathComponent(source.path)).samples
    }
}

let sileroModel: SileroVADModel? = try? SileroVADModel(contentsOf: ProjectPaths.sileroVAD)

@Suite struct SileroVADTests {
    static let references = ["speech_arctic_a0001", "noise_leopard_empty", "mix_speech_noise"]

    @Test func matvecFastPathMatchesPortableLoop() {
        var generator = SeededGenerator(seed: 42)
        for (rows, cols) in [(1, 1), (3, 7), (258, 256), (128, 387), (17, 33), (512, 256)] {
            let w = (0..<rows * cols).map { _ in Float.random(in: -1...1, using: &generator) }
            let x = (0..<cols).map { _ in Float.random(in: -1...1, using: &generator) }
            let bias = (0..<rows).map { _ in Float.random(in: -1...1, using: &generator) }
            var fast = [Float](repeating: 0, count: rows), portable = fast
            hark_vad_matvec(w, x, bias, &fast, rows, cols)
            hark_vad_matvec_portable(w, x, bias, &portable, rows, cols)
            for r in 0..<rows {
                var exact = Double(bias[r])
                for c in 0..<cols { exact += Double(w[r * cols + c]) * Double(x[c]) }
                #expect(abs(Double(fast[r]) - exact) < 1e-4 * Double(cols).squareRoot())
                #expect(abs(Double(portable[r]) - exact) < 1e-4 * Double(cols).squareRoot())
            }
        }
    }

    @Test func matmulMatchesRepeatedMatvec() {
        var generator = SeededGenerator(seed: 9)
        for (rows, cols, n, stride) in [(258, 256, 4, 128), (128, 387, 4, 387), (64, 384, 2, 384), (5, 9, 7, 3), (3, 16, 1, 16)] {
            let w = (0..<rows * cols).map { _ in Float.random(in: -1...1, using: &generator) }
            let x = (0..<(n - 1) * stride + cols).map { _ in Float.random(in: -1...1, using: &generator) }
            let bias = (0..<rows).map { _ in Float.random(in: -1...1, using: &generator) }
            var batched = [Float](repeating: 0, count: n * rows), portable = batched
            hark_vad_matmul(w, x, stride, bias, &batched, rows, rows, cols, n)
            hark_vad_matmul_portable(w, x, stride, bias, &portable, rows, rows, cols, n)
            for t in 0..<n {
                var single = [Float](repeating: 0, count: rows)
                Array(x[(t * stride)...]).withUnsafeBufferPointer { hark_vad_matvec_portable(w, $0.baseAddress, bias, &single, rows, cols) }
                for r in 0..<rows {
                    #expect(abs(batched[t * rows + r] - single[r]) < 1e-4)
                    #expect(portable[t * rows + r] == single[r])
                }
            }
        }
    }

    @Test(arguments: references)
    func probabilitiesMatchOnnxRuntimeReference(name: String) throws {
        let model = try #require(sileroModel, "models/silero_vad_16k.safetensors is required (scripts/setup)")
        let reference = try VADReference.load(name)
        let audio = try reference.audio()
        #expect(audio.count == reference.samples)
        var session = model.makeSession()
        let ours = frames(of: audio).map { session.probability(of: $0) }
        #expect(ours.count == reference.probabilities.count)
        let worst = zip(ours, reference.probabilities).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 0.01, "max |swift - onnxruntime| = \(worst) on \(name)")
        // Tighter than the bound: same float32 arithmetic up to summation order.
        #expect(worst < 1e-3, "max |swift - onnxruntime| = \(worst) on \(name)")
    }

    /// The package's stock ONNX export holds a different checkpoint than its safetensors file
    /// (see scripts/reference/vad_reference.py); per-frame values differ, decisions mostly agree.
    @Test(arguments: references)
    func decisionsMostlyAgreeWithStockOnnxCheckpoint(name: String) throws {
        let model = try #require(sileroModel)
        let reference = try VADReference.load(name)
        var session = model.makeSession()
        let ours = frames(of: try reference.audio()).map { session.probability(of: $0) }
        let agreeing = zip(ours, reference.stock_onnx_probabilities).filter { ($0 >= 0.5) == ($1 >= 0.5) }.count
        #expect(Double(agreeing) / Double(ours.count) >= 0.95)
    }

    @Test func resetRestartsTheStream() throws {
        let model = try #require(sileroModel)
        let reference = try VADReference.load("mix_speech_noise")
        let clip = frames(of: try reference.audio())
        var session = model.makeSession()
        let first = clip.map { session.probability(of: $0) }
        session.reset()
        let second = clip.map { session.probability(of: $0) }
        #expect(first == second)
        // Sessions are independent: a second session fed other audio does not disturb the first.
        var other = model.makeSession()
        var third = model.makeSession()
        var interleaved: [Float] = []
        for frame in clip {
            _ = other.probability(of: frame.map { $0 * 0.1 })
            interleaved.append(third.probability(of: frame))
        }
        #expect(interleaved == first)
    }

    @Test func speechScoresHighAndSilenceLow() throws {
        let model = try #require(sileroModel)
        var session = model.makeSession()
        let silence = (0..<20).map { _ in session.probability(of: [Float](repeating: 0, count: 512)) }
        #expect(silence.allSatisfy { $0 < 0.1 })
        session.reset()
        let speech = frames(of: try corpusClip("A_dictation/whisper__jfk.wav")).map { session.probability(of: $0) }
        #expect(speech.filter { $0 > 0.5 }.count > speech.count / 2)
    }

    @Test func missingTensorIsNamed() throws {
        let bytes = SafetensorsWriter.file([("stft_conv.weight", .f32, [258, 1, 256], [Float](repeating: 0, count: 258 * 256))])
        #expect(throws: VADError.missingTensor(path: "mini", tensor: "conv1.weight")) {
            try SileroVADModel(file: SafetensorsFile(bytes: bytes, path: "mini"))
        }
        let wrongShape = SafetensorsWriter.file([("stft_conv.weight", .f32, [2, 2], [0, 0, 0, 0])])
        #expect(throws: VADError.shapeMismatch(path: "mini", tensor: "stft_conv.weight", expected: [258, 1, 256], found: [2, 2])) {
            try SileroVADModel(file: SafetensorsFile(bytes: wrongShape, path: "mini"))
        }
    }
}

/// xorshift64*: deterministic randomness for tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
