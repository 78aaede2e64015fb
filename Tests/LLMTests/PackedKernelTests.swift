import CKernels
import HarkTestSupport
import Testing
@testable import LLM

/// The packed matrices (16 rows interleaved, AVX-512 VNNI) give exactly the portable path's
/// row dot products, for one token (generation) and for batches (prompts), on one or two threads.
@Suite("Packed kernels")
struct PackedKernelTests {
    static var packedHere: Bool { LLMKernelPath.name == "avx512-vnni" }

    @Test(arguments: KernelTestBlocks.quantizedTypes, [1, 3, 4, 9])
    func packedMatmulEqualsPortableRowDots(type: GGMLType, tokens: Int) throws {
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 31 + UInt64(tokens))
        let rows = 48, columns = type.blockSize == 256 ? 768 : 576
        let size = hark_packed_size(Int32(type.rawValue), Int32(rows), Int32(columns))
        guard Self.packedHere else {
            // Other machines (ARM64, AVX2 only) have no packed form and keep using hark_matmul.
            #expect(size == 0)
            return
        }
        #expect(size > 0, "\(type) has a packed form on this machine")
        var w: [UInt8] = []
        for _ in 0..<rows { w += KernelTestBlocks.row(type, columns: columns, rng: &rng) }
        let rowBytes = type.rowBytes(columns)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { packed.deallocate() }
        let ok = w.withUnsafeBytes { hark_pack(Int32(type.rawValue), $0.baseAddress, rowBytes, Int32(rows), Int32(columns), packed) }
        #expect(ok == 1)
        // Large activations too, so that sums reach the range where float rounding shows.
        let x = (0..<(tokens * columns)).map { i in rng.float() * (i % 7 == 0 ? 40 : 3) }
        var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * columns / 32)
        hark_quantize_q8(x, &xq, Int32(tokens * columns))
        for threads in [1, 2] {
            let pool = try #require(hark_pool_create(Int32(threads)))
            defer { hark_pool_destroy(pool) }
            // ldy wider than rows: outputs land at t * ldy + r and nothing else is written.
            let ldy = rows + 5
            var y = [Float](repeating: .nan, count: tokens * ldy)
            #expect(hark_matmul_packed(pool, Int32(type.rawValue), packed, Int32(rows), Int32(columns), xq, Int32(tokens), &y, Int32(ldy)) == 1)
            w.withUnsafeBytes { wp in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        let expected = KernelTestBlocks.portableDot(type, weights: wp, row: r, columns: columns, xq: xq, token: t)
                        #expect(y[t * ldy + r] == expected, "\(type) token \(t) row \(r) threads \(threads)")
                    }
                    for r in rows..<ldy { #expect(y[t * ldy + r].isNaN, "padding \(r) untouched") }
                }
            }
        }
    }

    @Test func shapesWithoutPackedFormAreRefused() {
        let q41 = Int32(GGMLType.q4_1.rawValue)
        #expect(hark_packed_size(q41, 40, 576) == 0, "rows not a multiple of 16")
        #expect(hark_packed_size(Int32(GGMLType.f32.rawValue), 64, 576) == 0, "float weights")
        #expect(hark_packed_size(Int32(GGMLType.q4_K.rawValue), 64, 288) == 0, "K-quant rows of partial super-blocks")
        var y = [Float](repeating: 0, count: 40)
        let xq = [hark_q8_block](repeating: hark_q8_block(), count: 18)
        let dummy = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { dummy.deallocate() }
        #expect(hark_matmul_packed(nil, q41, dummy, 40, 576, xq, 1, &y, 40) == 0)
    }
}

extension PackedKernelTests {
    /// Several matrices sharing one input in one pass (Q/K/V, gate/up) give each matrix's own
    /// product, for matrices of different record kinds (half-scale, K-quant, compact Q5_0: as
    /// Qwen2.5's Q5_0 and Q8_0 matrices share their input) and heights.
    @Test(arguments: [1, 6])
    func sharedInputProductsEqualSeparateOnes(tokens: Int) throws {
        guard Self.packedHere else { return } // no packed form: covered by the fallback test above
        var rng = SplitMix64(seed: 77 + UInt64(tokens))
        let columns = 768
        let types: [GGMLType] = [.q4_1, .q8_0, .q6_K, .q5_0], heights = [64, 16, 32, 48]
        var packed: [UnsafeMutableRawPointer] = []
        defer { packed.forEach { $0.deallocate() } }
        for (type, rows) in zip(types, heights) {
            var w: [UInt8] = []
            for _ in 0..<rows { w += KernelTestBlocks.row(type, columns: columns, rng: &rng) }
            let size = hark_packed_size(Int32(type.rawValue), Int32(rows), Int32(columns))
            let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            packed.append(p)
            #expect(w.withUnsafeBytes { hark_pack(Int32(type.rawValue), $0.baseAddress, type.rowBytes(columns), Int32(rows), Int32(columns), p) } == 1)
        }
        let x = (0..<(tokens * columns)).map { _ in rng.float() * 5 }
        var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * columns / 32)
        hark_quantize_q8(x, &xq, Int32(tokens * columns))
        let pool = try #require(hark_pool_create(2))
        defer { hark_pool_destroy(pool) }
        var separate: [[Float]] = []
        for m in types.indices {
            var y = [Float](repeating: .nan, count: tokens * heights[m])
            #expect(hark_matmul_packed(pool, Int32(types[m].rawValue), packed[m], Int32(heights[m]), Int32(columns), xq, Int32(tokens), &y, Int32(heights[m])) == 1)
            separate.append(y)
        }
        let outputs = heights.map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * $0) }
        defer { outputs.forEach { $0.deallocate() } }
        for (o, h) in zip(outputs, heights) { o.initialize(repeating: .nan, count: tokens * h) }
        let ys: [UnsafeMutablePointer<Float>?] = outputs
        let pointers: [UnsafeRawPointer?] = packed.map { UnsafeRawPointer($0) }
        let done = hark_matmul_packed_many(pool, Int32(types.count), types.map { Int32($0.rawValue) }, pointers, heights.map { Int32($0) },
                                           Int32(columns), xq, Int32(tokens), ys, heights.map { Int32($0) })
        #expect(done == 1)
        for m in types.indices {
            let shared = Array(UnsafeBufferPointer(start: outputs[m], count: tokens * heights[m]))
            #expect(shared == separate[m], "matrix \(m) (\(types[m]))")
            #expect(!shared.contains { $0.isNaN })
        }
    }
}
