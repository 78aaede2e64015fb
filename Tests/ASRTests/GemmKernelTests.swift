import CKernels
import Foundation
import HarkTestSupport
import Testing

/// `hark_sgemm` (CKernels/gemm.c) against a plain double-precision product, on every kernel path
/// this CPU can run (portable C, AVX2, AVX-512), for shapes that are not multiples of the tiles,
/// one-row products (decoder steps), both layouts of B, row strides wider than the rows, alpha and
/// beta, one and two threads. Serialized: forcing a path is process-wide.
@Suite(.serialized) struct GemmKernelTests {
    struct Shape: CustomStringConvertible {
        let m: Int, n: Int, k: Int
        var description: String { "\(m)x\(n)x\(k)" }
    }

    // Small-row path (m < 16), packed path with partial MR/NR/KC tiles, several KC and MC blocks,
    // and an encoder-sized product that is split over threads.
    static let shapes: [Shape] = [
        Shape(m: 1, n: 1, k: 1), Shape(m: 1, n: 37, k: 5), Shape(m: 1, n: 1500, k: 64), Shape(m: 1, n: 64, k: 1500),
        Shape(m: 3, n: 50, k: 384), Shape(m: 5, n: 67, k: 33), Shape(m: 15, n: 33, k: 17), Shape(m: 16, n: 16, k: 16),
        Shape(m: 17, n: 33, k: 300), Shape(m: 100, n: 70, k: 513), Shape(m: 301, n: 129, k: 259),
        Shape(m: 150, n: 2100, k: 40), Shape(m: 750, n: 384, k: 1536),
    ]

    /// Runs `hark_sgemm` with padded strides and returns C (only the m x n values) and the
    /// reference alpha * A op(B) + beta * C0 computed in doubles.
    static func compare(_ s: Shape, transB: Bool, threads: Int32, seed: UInt64) -> (got: [Float], want: [Float], paddingIntact: Bool) {
        var rng = SplitMix64(seed: seed)
        let lda = s.k + 3, ldb = (transB ? s.k : s.n) + 2, ldc = s.n + 1
        let a = (0..<(s.m * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<((transB ? s.n : s.k) * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
        let c0 = (0..<(s.m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
        let alpha: Float = 0.75, beta: Float = 0.5
        var c = c0
        hark_sgemm(transB ? 1 : 0, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, &c, ldc, threads)
        var got: [Float] = [], want: [Float] = []
        for i in 0..<s.m {
            for j in 0..<s.n {
                var sum = 0.0
                for p in 0..<s.k { sum += Double(a[i * lda + p]) * Double(transB ? b[j * ldb + p] : b[p * ldb + j]) }
                want.append(Float(Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])))
                got.append(c[i * ldc + j])
            }
        }
        // The padding between rows of C must be untouched.
        let paddingIntact = (0..<s.m).allSatisfy { c[$0 * ldc + s.n] == c0[$0 * ldc + s.n] }
        return (got, want, paddingIntact)
    }

    static var availablePaths: [Int32] {
        [Int32(HARK_GEMM_PORTABLE), Int32(HARK_GEMM_AVX2), Int32(HARK_GEMM_AVX512)].filter { hark_gemm_path_available($0) != 0 }
    }

    @Test func everyAvailablePathMatchesTheReference() {
        defer { hark_gemm_force_path(-1) }
        #expect(Self.availablePaths.contains(Int32(HARK_GEMM_PORTABLE)))
        for path in Self.availablePaths {
            hark_gemm_force_path(path)
            #expect(hark_gemm_path() == path)
            for (index, shape) in Self.shapes.enumerated() {
                for transB in [true, false] {
                    for threads: Int32 in [1, 2] {
                        let (got, want, paddingIntact) = Self.compare(shape, transB: transB, threads: threads, seed: UInt64(index * 4) + (transB ? 2 : 0) + UInt64(threads))
                        // Float sums of up to 1536 terms of size <= 1: a few 1e-4 at most.
                        let tolerance = 1e-5 * Float(shape.k) + 1e-5
                        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                        #expect(got.count == want.count && worst <= tolerance && paddingIntact,
                                "path \(path) \(shape) transB \(transB) threads \(threads): max error \(worst), padding intact \(paddingIntact)")
                    }
                }
            }
        }
    }

    @Test func forcingAnUnavailablePathRestoresTheAutomaticChoice() {
        defer { hark_gemm_force_path(-1) }
        hark_gemm_force_path(-1)
        let best = hark_gemm_path()
        #expect(hark_gemm_path_available(best) != 0)
        hark_gemm_force_path(99)
        #expect(hark_gemm_path() == best)
    }

    /// Weights packed once (`hark_sgemm_pack`) give exactly `hark_sgemm`'s bits on every path and
    /// thread count for products of 16 rows or more, and stay close to the reference below that;
    /// a product runs on the path it was packed for even when another path is forced since.
    @Test func packedWeightsGiveTheSameBits() {
        defer { hark_gemm_force_path(-1) }
        var rng = SplitMix64(seed: 5)
        for shape in [Shape(m: 16, n: 33, k: 300), Shape(m: 301, n: 129, k: 259), Shape(m: 150, n: 2100, k: 40),
                      Shape(m: 40, n: 1500, k: 64), Shape(m: 5, n: 67, k: 33)] {
            let lda = shape.k + 3, ldc = shape.n + 1
            let a = (0..<(shape.m * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
            let w = (0..<(shape.n * shape.k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let c0 = (0..<(shape.m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
            for path in Self.availablePaths {
                hark_gemm_force_path(path)
                var packed = [Float](repeating: .nan, count: hark_sgemm_packed_count(shape.n, shape.k) + 16)
                // The kernels load packed panels from 64-byte boundaries (the array's storage
                // does not move while it is not resized).
                let packedPath = packed.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                    let aligned = base.alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
                    return hark_sgemm_pack(1, shape.n, shape.k, w, shape.k, aligned)
                }
                #expect(packedPath == path)
                var expected = c0
                hark_sgemm(1, shape.m, shape.n, shape.k, 0.75, a, lda, w, shape.k, 0.5, &expected, ldc, 1)
                for (threads, forced) in [(Int32(1), path), (2, path), (2, Int32(HARK_GEMM_PORTABLE))] {
                    hark_gemm_force_path(forced)
                    var got = c0
                    packed.withUnsafeMutableBufferPointer { buffer in
                        let aligned = UnsafeMutableRawPointer(buffer.baseAddress!).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
                        hark_sgemm_packed(packedPath, shape.m, shape.n, shape.k, 0.75, a, lda, aligned, 0.5, &got, ldc, threads)
                    }
                    if shape.m >= 16 {
                        #expect(got == expected, "path \(path) \(shape) threads \(threads) forced \(forced): differs from hark_sgemm")
                    } else {
                        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                        #expect(worst <= 1e-5 * Float(shape.k) + 1e-5, "path \(path) \(shape): max difference \(worst)")
                    }
                }
            }
        }
    }

    @Test func zeroDepthScalesC() {
        var c: [Float] = [1, 2, 3, 4]
        hark_sgemm(1, 2, 2, 0, 1, [], 1, [], 1, 0.5, &c, 2, 1)
        #expect(c == [0.5, 1, 1.5, 2])
    }

    /// `hark_unmasked_attention` (the encoder's) must give exactly what one `hark_sgemm` +
    /// `hark_softmax_rows` per head gives, whatever the thread count and however the query rows
    /// fall into blocks, and stay close to a double-precision softmax(QK^T/sqrt(d))V.
    @Test(arguments: [(queries: 1, keys: 1), (queries: 7, keys: 37), (queries: 97, keys: 200), (queries: 120, keys: 64), (queries: 250, keys: 250)])
    func attentionMatchesPerHeadProducts(queries: Int, keys: Int) {
        defer { hark_gemm_force_path(-1) }
        let heads = 3, headDim = 24, width = heads * headDim, stride = 3 * width + 5
        var rng = SplitMix64(seed: UInt64(queries * 1000 + keys))
        let qkv = (0..<(max(queries, keys) * stride)).map { _ in Float.random(in: -2...2, using: &rng) }
        let scale = 1 / Float(headDim).squareRoot()
        for path in Self.availablePaths {
            hark_gemm_force_path(path)
            var expected = [Float](repeating: 0, count: queries * width)
            var scores = [Float](repeating: 0, count: queries * keys)
            qkv.withUnsafeBufferPointer { x in
                for head in 0..<heads {
                    let column = head * headDim
                    hark_sgemm(1, queries, keys, headDim, scale, x.baseAddress! + column, stride,
                               x.baseAddress! + width + column, stride, 0, &scores, keys, 1)
                    hark_softmax_rows(&scores, queries, keys, keys, nil)
                    expected.withUnsafeMutableBufferPointer { out in
                        hark_sgemm(0, queries, headDim, keys, 1, scores, keys, x.baseAddress! + 2 * width + column, stride,
                                   0, out.baseAddress! + column, width, 1)
                    }
                }
            }
            for threads: Int32 in [1, 2, 5] {
                var got = [Float](repeating: .nan, count: queries * width)
                let ok = qkv.withUnsafeBufferPointer { x in
                    hark_unmasked_attention(x.baseAddress!, stride, x.baseAddress! + width, stride, x.baseAddress! + 2 * width, stride,
                                            &got, width, queries, keys, heads, headDim, scale, threads)
                }
                #expect(ok == 1)
                #expect(got == expected, "path \(path), \(threads) threads: differs from per-head products")
            }
            // Double-precision reference for one head's first and last query.
            for query in Set([0, queries - 1]) {
                let head = heads - 1, column = head * headDim
                let logits = (0..<keys).map { key in
                    (0..<headDim).reduce(0.0) { $0 + Double(qkv[query * stride + column + $1]) * Double(qkv[key * stride + width + column + $1]) } * Double(scale)
                }
                let top = logits.max()!
                let weights = logits.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                for d in 0..<headDim {
                    let want = (0..<keys).reduce(0.0) { $0 + weights[$1] / total * Double(qkv[$1 * stride + 2 * width + column + d]) }
                    #expect(abs(Double(expected[query * width + column + d]) - want) < 1e-4)
                }
            }
        }
    }
}
