import CKernels
import HarkTestSupport
import Testing
@testable import LLM

/// Q4_0, Q4_1 and Q8_0 products are summed in llama.cpp's order on every path - the packed
/// AVX-512 VNNI tiles, the AVX2 and VNNI row kernels (fused and unpacked) and the portable C -
/// so they equal `hark_matmul_llama_order` (the slow oracle that reproduces llama.cpp's logits)
/// bit for bit.
@Suite("Kernels in llama.cpp's order")
struct LlamaOrderKernelTests {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q8_0]

    @Test(arguments: types, [1, 3])
    func everyPathEqualsTheLlamaOrderOracle(type: GGMLType, tokens: Int) throws {
        var rng = SplitMix64(seed: 1000 + UInt64(type.rawValue) * 7 + UInt64(tokens))
        let rows = 32, columns = 160 // 5 blocks: lanes and blocks both matter
        let rowBytes = type.rowBytes(columns)
        var w: [UInt8] = []
        for _ in 0..<rows { w += KernelTestBlocks.row(type, columns: columns, rng: &rng) }
        // Mixed magnitudes, so that sums reach the range where float rounding shows.
        let x = (0..<(tokens * columns)).map { i in rng.float() * (i % 5 == 0 ? 30 : 2) }
        var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * columns / 32)
        hark_quantize_q8(x, &xq, Int32(tokens * columns))
        let t32 = Int32(type.rawValue)

        var oracle = [Float](repeating: .nan, count: tokens * rows)
        hark_matmul_llama_order(nil, t32, w, rowBytes, Int32(rows), Int32(columns), xq, Int32(tokens), &oracle, Int32(rows))
        #expect(!oracle.contains { $0.isNaN })

        // The orders really differ on this data (else equality would prove nothing): the
        // block-order reference dot disagrees in the last bits somewhere.
        var blockOrderDiffers = false
        w.withUnsafeBytes { wp in
            for t in 0..<tokens {
                for r in 0..<rows {
                    let blockOrder = xq[(t * columns / 32)...].withUnsafeBufferPointer {
                        hark_vec_dot_q8_portable(t32, wp.baseAddress! + r * rowBytes, $0.baseAddress, Int32(columns))
                    }
                    if blockOrder != oracle[t * rows + r] { blockOrderDiffers = true }
                    #expect(abs(blockOrder - oracle[t * rows + r]) <= 1e-3 * max(1, abs(blockOrder)))
                }
            }
        }
        #expect(blockOrderDiffers, "\(type): the test data should tell the two orders apart")

        // The default path (fused kernel for one token, unpacked rows for several).
        let pool = try #require(hark_pool_create(2))
        defer { hark_pool_destroy(pool) }
        var y = [Float](repeating: .nan, count: tokens * rows)
        hark_matmul(pool, t32, w, rowBytes, Int32(rows), Int32(columns), nil, xq, Int32(tokens), &y, Int32(rows))
        #expect(y == oracle, "\(type): hark_matmul on \(LLMKernelPath.name)")

        // Every row kernel this CPU runs, forced one at a time.
        let available = Int(hark_llm_kernel_paths())
        for path in [HARK_LLM_PATH_PORTABLE, HARK_LLM_PATH_AVX2, HARK_LLM_PATH_AVX512_VNNI] where available >> Int(path) & 1 == 1 {
            w.withUnsafeBytes { wp in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        let value = xq[(t * columns / 32)...].withUnsafeBufferPointer {
                            hark_vec_dot_q8_path(Int32(path), t32, wp.baseAddress! + r * rowBytes, $0.baseAddress, Int32(columns))
                        }
                        #expect(value == oracle[t * rows + r], "\(type) path \(path) token \(t) row \(r)")
                    }
                }
            }
        }

        // The packed tiles, where this machine has them.
        let size = hark_packed_size(t32, Int32(rows), Int32(columns))
        if size > 0 {
            let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { packed.deallocate() }
            #expect(w.withUnsafeBytes { hark_pack(t32, $0.baseAddress, rowBytes, Int32(rows), Int32(columns), packed) } == 1)
            var yp = [Float](repeating: .nan, count: tokens * rows)
            #expect(hark_matmul_packed(pool, t32, packed, Int32(rows), Int32(columns), xq, Int32(tokens), &yp, Int32(rows)) == 1)
            #expect(yp == oracle, "\(type): packed")
        }
    }
}
