import CKernels
import HarkTestSupport
import Testing
@testable import LLM

/// The compact Q5_0 records of the packed matrices (llm_packed_q5_0.c: low nibbles and the
/// fifth bits in planes of their own, put together in registers) take the file's own bytes and
/// give exactly the portable path's row dot products - for every 5-bit value, scales of both
/// signs and sizes, odd and even block counts, generation, token tiles of 4 and their
/// remainders, on one and two threads.
@Suite("Packed Q5_0 kernels")
struct PackedQ50Tests {
    /// Rows of random bytes with half-float scales of mixed sign and size, plus rows of
    /// extremes: all bits set (every value 15), every byte 0x80, and all zero bits (every value -16).
    static func rows(rows: Int, columns: Int, rng: inout SplitMix64) -> [UInt8] {
        let type = GGMLType.q5_0
        var out: [UInt8] = []
        for r in 0..<rows {
            var row = rng.bytes(type.rowBytes(columns))
            if r == 1 { row = [UInt8](repeating: 0xFF, count: row.count) }
            if r == 2 { row = [UInt8](repeating: 0x80, count: row.count) }
            if r == 3 { row = [UInt8](repeating: 0x00, count: row.count) }
            for block in 0..<(columns / 32) {
                let magnitude: Float = [1e-6, 1e-4, 0.003, 0.02][Int(rng.next() % 4)]
                let sign: Float = rng.next() % 2 == 0 ? 1 : -1
                let scale = hark_fp32_to_fp16(sign * magnitude * (1 + rng.float()))
                row[block * type.bytesPerBlock] = UInt8(scale & 0xFF)
                row[block * type.bytesPerBlock + 1] = UInt8(scale >> 8)
            }
            out += row
        }
        return out
    }

    // Widths: one block, 17 blocks (a half-empty last record), Qwen2.5's 896 and 4864.
    @Test(arguments: [(16, 32), (32, 544), (48, 896), (16, 4864)])
    func packedQ50EqualsPortableRowDots(shape: (rows: Int, columns: Int)) throws {
        guard PackedKernelTests.packedHere else { return } // no packed form: PackedKernelTests checks the refusal
        let (rows, columns) = shape
        let type = GGMLType.q5_0
        var rng = SplitMix64(seed: 5005 + UInt64(columns))
        let w = Self.rows(rows: rows, columns: columns, rng: &rng)
        let rowBytes = type.rowBytes(columns)
        let size = hark_packed_size(Int32(type.rawValue), Int32(rows), Int32(columns))
        // The file's own size (5.5 bits per weight), plus half a record per group for an odd
        // block count - not the byte records' 1.55x.
        let blocks = columns / 32
        let padding = blocks % 2 == 1 ? rows / 16 * 352 : 0
        #expect(size == rows * rowBytes + padding, "\(size) packed bytes for \(rows * rowBytes) in the file")
        let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { packed.deallocate() }
        #expect(w.withUnsafeBytes { hark_pack(Int32(type.rawValue), $0.baseAddress, rowBytes, Int32(rows), Int32(columns), packed) } == 1)
        for threads in [1, 2] {
            let pool = try #require(hark_pool_create(Int32(threads)))
            defer { hark_pool_destroy(pool) }
            for tokens in [1, 4, 5, 11] {
                let x = (0..<(tokens * columns)).map { i in rng.float() * (i % 5 == 0 ? 60 : 2) - (i % 3 == 0 ? 1 : 0) }
                var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * blocks)
                hark_quantize_q8(x, &xq, Int32(tokens * columns))
                // ldy wider than rows: outputs land at t * ldy + r and nothing else is written.
                let ldy = rows + 3
                var y = [Float](repeating: .nan, count: tokens * ldy)
                #expect(hark_matmul_packed(pool, Int32(type.rawValue), packed, Int32(rows), Int32(columns), xq, Int32(tokens), &y, Int32(ldy)) == 1)
                var mismatches = 0, untouched = 0
                w.withUnsafeBytes { wp in
                    for t in 0..<tokens {
                        for r in 0..<rows {
                            let expected = KernelTestBlocks.portableDot(type, weights: wp, row: r, columns: columns, xq: xq, token: t)
                            if y[t * ldy + r].bitPattern != expected.bitPattern { mismatches += 1 }
                        }
                        for r in rows..<ldy where y[t * ldy + r].isNaN { untouched += 1 }
                    }
                }
                #expect(mismatches == 0, "\(rows)x\(columns), \(tokens) tokens, \(threads) threads: \(mismatches) outputs differ from the portable path")
                #expect(untouched == tokens * (ldy - rows), "padding between rows stays untouched")
            }
        }
    }

    /// The packed rows are the file's rows: dequantizing through the portable dot product with
    /// one-hot activations gives each weight back, so no value is lost or moved by the planes.
    @Test func everyValueLandsInItsPlace() throws {
        guard PackedKernelTests.packedHere else { return }
        let type = GGMLType.q5_0, rows = 16, columns = 64
        var rng = SplitMix64(seed: 55)
        let w = Self.rows(rows: rows, columns: columns, rng: &rng)
        let rowBytes = type.rowBytes(columns)
        let size = hark_packed_size(Int32(type.rawValue), Int32(rows), Int32(columns))
        let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { packed.deallocate() }
        #expect(w.withUnsafeBytes { hark_pack(Int32(type.rawValue), $0.baseAddress, rowBytes, Int32(rows), Int32(columns), packed) } == 1)
        var dequantized = [Float](repeating: 0, count: rows * columns)
        w.withUnsafeBytes { wp in
            for r in 0..<rows {
                dequantized.withUnsafeMutableBufferPointer {
                    hark_dequantize_row(Int32(type.rawValue), wp.baseAddress! + r * rowBytes, $0.baseAddress! + r * columns, Int32(columns))
                }
            }
        }
        // Activation i alone set to 1 (quantized exactly: d = 1/127 * 127): y[r] = d_x * 127 * w[r][i].
        var wrong = 0
        for i in 0..<columns {
            var x = [Float](repeating: 0, count: columns)
            x[i] = 1
            var xq = [hark_q8_block](repeating: hark_q8_block(), count: columns / 32)
            hark_quantize_q8(x, &xq, Int32(columns))
            var y = [Float](repeating: .nan, count: rows)
            #expect(hark_matmul_packed(nil, Int32(type.rawValue), packed, Int32(rows), Int32(columns), xq, 1, &y, Int32(rows)) == 1)
            let block = xq[i / 32]
            let quant = withUnsafeBytes(of: block.qs) { Int8(bitPattern: $0[i % 32]) }
            let unit: Float = block.d * Float(quant)
            for r in 0..<rows where y[r] != dequantized[r * columns + i] * unit { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) of \(rows * columns) weights read back wrong")
    }
}
