import CKernels
import HarkTestSupport
import Testing
@testable import LLM

/// The K-quant records of the packed matrices (llm_packed_kquants.c: super-block factors kept
/// as in the file, products formed at run time, Q5_K/Q6_K high bits in bit planes) give
/// exactly the portable path's row dot products - for every sub-scale, minimum and value the
/// formats can hold, scales of both signs, one and several super-blocks, generation and batches.
@Suite("Packed K-quant kernels")
struct PackedKQuantTests {
    static let types: [GGMLType] = [.q4_K, .q5_K, .q6_K]

    /// Rows of random payload (every 6-bit sub-scale and minimum, every quant, Q6_K's int8
    /// sub-scales) with half-float factors of mixed sign and size, plus two rows of extremes:
    /// all payload bits set (largest quants and scales) and every byte 0x80.
    static func rows(_ type: GGMLType, rows: Int, columns: Int, rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        for r in 0..<rows {
            var row = rng.bytes(type.rowBytes(columns))
            if r == 1 { row = [UInt8](repeating: 0xFF, count: row.count) }
            if r == 2 { row = [UInt8](repeating: 0x80, count: row.count) }
            for block in 0..<(columns / 256) {
                for offset in KernelTestBlocks.scaleOffsets(type) {
                    let magnitude: Float = [0, 1e-6, 1e-4, 0.003][Int(rng.next() % 4)]
                    let sign: Float = rng.next() % 2 == 0 ? 1 : -1
                    let scale = hark_fp32_to_fp16(sign * magnitude * (1 + rng.float()))
                    row[block * type.bytesPerBlock + offset] = UInt8(scale & 0xFF)
                    row[block * type.bytesPerBlock + offset + 1] = UInt8(scale >> 8)
                }
            }
            out += row
        }
        return out
    }

    @Test(arguments: types, [(16, 256), (48, 4864)])
    func packedKQuantsEqualPortableRowDots(type: GGMLType, shape: (rows: Int, columns: Int)) throws {
        guard PackedKernelTests.packedHere else { return } // no packed form: PackedKernelTests checks the refusal
        let (rows, columns) = shape
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 1009 + UInt64(columns))
        let w = Self.rows(type, rows: rows, columns: columns, rng: &rng)
        let rowBytes = type.rowBytes(columns)
        let size = hark_packed_size(Int32(type.rawValue), Int32(rows), Int32(columns))
        // About the file's own size (the record headers cost under 3%), not the float-scale records' 1.3-1.5x.
        #expect(size > 0 && size * 100 <= rows * rowBytes * 103, "\(type): \(size) packed bytes for \(rows * rowBytes)")
        let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { packed.deallocate() }
        #expect(w.withUnsafeBytes { hark_pack(Int32(type.rawValue), $0.baseAddress, rowBytes, Int32(rows), Int32(columns), packed) } == 1)
        let pool = try #require(hark_pool_create(2))
        defer { hark_pool_destroy(pool) }
        for tokens in [1, 5] {
            let x = (0..<(tokens * columns)).map { i in rng.float() * (i % 5 == 0 ? 60 : 2) - (i % 3 == 0 ? 1 : 0) }
            var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * columns / 32)
            hark_quantize_q8(x, &xq, Int32(tokens * columns))
            var y = [Float](repeating: .nan, count: tokens * rows)
            #expect(hark_matmul_packed(pool, Int32(type.rawValue), packed, Int32(rows), Int32(columns), xq, Int32(tokens), &y, Int32(rows)) == 1)
            var mismatches = 0
            w.withUnsafeBytes { wp in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        let expected = KernelTestBlocks.portableDot(type, weights: wp, row: r, columns: columns, xq: xq, token: t)
                        if y[t * rows + r].bitPattern != expected.bitPattern { mismatches += 1 }
                    }
                }
            }
            #expect(mismatches == 0, "\(type) \(rows)x\(columns), \(tokens) tokens: \(mismatches) outputs differ from the portable path")
        }
    }
}
