import ASR
import Audio
import CKernels
import Foundation
import HarkTestSupport
import Testing

/// The encoder's fused products and threaded passes (CKernels gemm.c, asr.c, workers.c) must give
/// exactly the bits of the separate passes they replace, on every kernel path and thread count,
/// for products split by rows and by columns, with widths that are not multiples of the tiles.
/// Part of `GemmKernelTests`, which runs its tests one at a time: forcing a path is process-wide,
/// and the model-level test below must not run while another test forces one.
extension GemmKernelTests {

    // Split by columns (m < n), by rows (m >= n), edge tiles on both sides, n not a multiple of 8
    // (GELU's vector tail), and a few rows (no packing).
    static let fusedShapes = [Shape(m: 300, n: 384, k: 384), Shape(m: 301, n: 129, k: 259), Shape(m: 600, n: 200, k: 240),
                              Shape(m: 40, n: 1500, k: 64), Shape(m: 5, n: 67, k: 33), Shape(m: 17, n: 8, k: 520)]

    /// Weights packed for the current path, 64-byte aligned, kept alive with their storage.
    final class Packed {
        let storage: UnsafeMutablePointer<Float>
        let path: Int32
        init(n: Int, k: Int, weights: [Float]) {
            let count = hark_sgemm_packed_count(n, k)
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: max(count, 1))
            path = hark_sgemm_pack(1, n, k, weights, k, storage)
        }
        deinit { storage.deallocate() }
    }

    @Test func fusedProductsGiveTheBitsOfSeparatePasses() {
        defer { hark_gemm_force_path(-1) }
        var rng = SplitMix64(seed: 11)
        for shape in Self.fusedShapes {
            let ldc = shape.n + 3
            let a = (0..<(shape.m * shape.k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let w = (0..<(shape.n * shape.k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let bias = (0..<shape.n).map { _ in Float.random(in: -1...1, using: &rng) }
            let c0 = (0..<(shape.m * ldc)).map { _ in Float.random(in: -2...2, using: &rng) }
            for path in Self.availablePaths {
                hark_gemm_force_path(path)
                let packed = Packed(n: shape.n, k: shape.k, weights: w)
                for accumulate in [false, true] {
                    for gelu in accumulate ? [false] : [false, true] {
                        for withBias in [true, false] {
                            // The separate passes: bias into (or onto) C, the product, GELU per row.
                            var expected = c0
                            for i in 0..<shape.m {
                                for j in 0..<shape.n {
                                    let index = i * ldc + j
                                    if withBias { expected[index] = accumulate ? expected[index] + bias[j] : bias[j] }
                                }
                            }
                            let beta: Float = accumulate || withBias ? 1 : 0
                            hark_sgemm_packed(packed.path, shape.m, shape.n, shape.k, 1, a, shape.k, packed.storage, beta,
                                              &expected, ldc, 1)
                            if gelu {
                                expected.withUnsafeMutableBufferPointer { c in
                                    for i in 0..<shape.m { hark_gelu(c.baseAddress! + i * ldc, shape.n) }
                                }
                            }
                            for threads: Int32 in [1, 2, 3] {
                                var got = c0
                                let biasPointer = withBias ? bias : nil
                                hark_sgemm_packed_fused(packed.path, shape.m, shape.n, shape.k, a, shape.k, packed.storage,
                                                        biasPointer, accumulate ? 1 : 0, gelu ? 1 : 0, &got, ldc, threads)
                                #expect(got == expected,
                                        "path \(path) \(shape) accumulate \(accumulate) gelu \(gelu) bias \(withBias) threads \(threads)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// GELU over a contiguous matrix whose rows are multiples of 8 wide is GELU per row: what
    /// lets the encoder apply it in the product's tasks.
    @Test func geluPerRowIsGeluOverTheMatrix() {
        var rng = SplitMix64(seed: 3)
        let rows = 37, width = 384
        let x = (0..<(rows * width)).map { _ in Float.random(in: -6...6, using: &rng) }
        var whole = x, perRow = x
        hark_gelu(&whole, rows * width)
        perRow.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows { hark_gelu(p.baseAddress! + r * width, width) }
        }
        #expect(whole == perRow)
        // And it is GELU: 0.5 x (1 + erf(x / sqrt 2)) to the approximation's 1.5e-7 (relative to x).
        for i in stride(from: 0, to: x.count, by: 97) {
            let want = 0.5 * Double(x[i]) * (1 + erf(Double(x[i]) / 2.0.squareRoot()))
            #expect(abs(Double(whole[i]) - want) <= 1e-6 * max(1, abs(Double(x[i]))))
        }
    }

    /// The convolutions' im2col rows: taps at t * step - 1, t * step, t * step + 1, zero outside,
    /// from bin-major (conv1) and row-major (conv2) inputs, on one thread and several.
    @Test(arguments: [(step: 1, layoutIsBinMajor: true), (step: 2, layoutIsBinMajor: false)])
    func convolutionColumnsHoldTheThreeTaps(step: Int, layoutIsBinMajor: Bool) {
        let channels = 5, positions = 70, rows = positions / step
        let x = (0..<(channels * positions)).map { Float($0) + 0.5 }
        func input(_ p: Int, _ c: Int) -> Float {
            guard p >= 0 && p < positions else { return 0 }
            return layoutIsBinMajor ? x[c * positions + p] : x[p * channels + c]
        }
        var want: [Float] = []
        for t in 0..<rows {
            for c in 0..<channels { for k in 0..<3 { want.append(input(t * step + k - 1, c)) } }
        }
        for threads: Int32 in [1, 2] {
            var got = [Float](repeating: .nan, count: rows * channels * 3)
            hark_conv3_columns(x, layoutIsBinMajor ? positions : 1, layoutIsBinMajor ? 1 : channels, channels, positions,
                               step, rows, &got, threads)
            #expect(got == want, "step \(step), \(threads) threads")
        }
    }

    /// Cross-attention keys transposed per head and values per head, from [frames][keys | values].
    @Test func crossKeysAndValuesTakeTheDecoderLayout() {
        let frames = 37, heads = 3, headDim = 6, width = heads * headDim
        let kv = (0..<(frames * 2 * width)).map { Float($0) }
        for threads: Int32 in [1, 2] {
            var kt = [Float](repeating: .nan, count: frames * width), v = kt
            hark_cross_kv_layout(kv, frames, width, heads, &kt, &v, threads)
            var keysRight = true, valuesRight = true
            for f in 0..<frames {
                for h in 0..<heads {
                    for j in 0..<headDim {
                        keysRight = keysRight && kt[(h * headDim + j) * frames + f] == kv[f * 2 * width + h * headDim + j]
                        valuesRight = valuesRight && v[(h * frames + f) * headDim + j] == kv[f * 2 * width + width + h * headDim + j]
                    }
                }
            }
            #expect(keysRight && valuesRight, "\(threads) threads")
        }
    }

    @Test(arguments: [1, 15, 16, 17, 300, 501])
    func threadedLayerNormGivesTheSameBits(rows: Int) {
        var rng = SplitMix64(seed: UInt64(rows))
        let dim = 384
        let x = (0..<(rows * dim)).map { _ in Float.random(in: -3...3, using: &rng) }
        let gamma = (0..<dim).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
        let beta = (0..<dim).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        var expected = [Float](repeating: .nan, count: rows * dim)
        hark_layer_norm(x, &expected, rows, dim, gamma, beta, 1e-5)
        for threads: Int32 in [1, 2, 4] {
            var got = [Float](repeating: .nan, count: rows * dim)
            hark_layer_norm_threads(x, &got, rows, dim, gamma, beta, 1e-5, threads)
            #expect(got == expected, "\(rows) rows, \(threads) threads")
        }
        // Row 0 normalised: mean 0, variance 1 before gamma and beta.
        let row = (0..<dim).map { (Double(expected[$0]) - Double(beta[$0])) / Double(gamma[$0]) }
        let mean = row.reduce(0, +) / Double(dim)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(dim)
        #expect(abs(mean) < 1e-4 && abs(variance - 1) < 1e-3)
    }

    /// Under a hold (and after it), every task of a job runs exactly once, nested holds included.
    @Test func jobsRunEveryTaskOnceUnderAHold() async throws {
        final class Counts: @unchecked Sendable {
            // @unchecked: each task writes only its own slot; the job's return orders the reads.
            var values = [Int32](repeating: 0, count: 97)
        }
        let counts = Counts()
        func runJob() {
            counts.values.withUnsafeMutableBufferPointer { slots in
                hark_workers_run(2, slots.count, { context, task in
                    context!.assumingMemoryBound(to: Int32.self)[task] += 1
                }, slots.baseAddress!)
            }
        }
        hark_workers_hold(2)
        runJob()
        hark_workers_hold(2)
        runJob()
        hark_workers_release(2)
        try await Task.sleep(for: .milliseconds(5)) // past a hold's spinning: the worker may sleep now
        runJob()
        hark_workers_release(2)
        runJob()
        #expect(counts.values == [Int32](repeating: 4, count: 97))
    }

    /// The real tiny.en: a pause decode's short window encodes to the same bits on one thread and
    /// on two (the products, attention and layer norms split their work however threads claim it).
    @Test func shortWindowEncodesToTheSameBitsOnOneAndTwoThreads() throws {
        let model = try WhisperModel(modelDirectory: ProjectPaths.whisperTinyEn)
        let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent("A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav").path)
        let mel = LogMelSpectrogram(melBins: model.dimensions.melBins).compute(clip.samples, padToSeconds: 6)
        let values = Array(mel.values.prefix(mel.bins * 600))
        var outputs: [[Float]] = []
        for threads: Int32 in [1, 2, 2] {
            hark_workers_set_caller_threads(threads)
            defer { hark_workers_set_caller_threads(0) }
            let encoded = try model.encode(mel: values, frames: 600)
            #expect(encoded.frames == 300 && encoded.width == model.dimensions.width)
            outputs.append(encoded.values)
        }
        #expect(outputs[0].allSatisfy { $0.isFinite })
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0])
    }
}
