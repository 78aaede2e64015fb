import CKernels
import Foundation
import HarkTestSupport
import Testing
@testable import LLM

@Suite("Quantized kernels")
struct KernelTests {
    @Test func halfPrecisionRoundTripsEveryValue() {
        for bits in 0...UInt16.max {
            let f = hark_fp16_to_fp32(bits)
            if f.isNaN { continue }
            #expect(hark_fp32_to_fp16(f) == bits, "0x\(String(bits, radix: 16))")
        }
        #expect(hark_fp16_to_fp32(0x3C00) == 1)
        #expect(hark_fp16_to_fp32(0xC000) == -2)
        #expect(hark_fp16_to_fp32(0x0001) == Float(1) / 16_777_216)
        #expect(hark_fp32_to_fp16(65520) == 0x7C00) // rounds to infinity
        #expect(hark_fp32_to_fp16(1 + 1 / 2048) == 0x3C00) // tie to even
    }

    /// Hand-built blocks with values worked out on paper from the ggml block layouts.
    @Test func dequantizesHandBuiltBlocks() {
        // Q4_0: d = 0.5, byte j = 0x9 | 0x3 << 4 -> low (9-8)*0.5 = 0.5, high (3-8)*0.5 = -2.5
        var q40: [UInt8] = [0x00, 0x38] + Array(repeating: 0x39, count: 16)
        #expect(KernelTestBlocks.dequantize(.q4_0, q40, columns: 32) == Array(repeating: 0.5, count: 16) + Array(repeating: -2.5, count: 16))
        // Q4_1: d = 2, m = -1, nibbles 0xF / 0x0 -> 29 and -1
        q40 = [0x00, 0x40, 0x00, 0xBC] + Array(repeating: 0x0F, count: 16)
        #expect(KernelTestBlocks.dequantize(.q4_1, q40, columns: 32) == Array(repeating: 29, count: 16) + Array(repeating: -1, count: 16))
        // Q5_0: d = 1, qh bit 0 set (element 0 gets +16) and bit 16 set (element 16), nibbles 0
        let q50: [UInt8] = [0x00, 0x3C, 0x01, 0x00, 0x01, 0x00] + Array(repeating: 0, count: 16)
        var expected = [Float](repeating: -16, count: 32)
        expected[0] = 0
        expected[16] = 0
        #expect(KernelTestBlocks.dequantize(.q5_0, q50, columns: 32) == expected)
        // Q8_0: d = 0.25, qs = -4 -> -1
        let q80: [UInt8] = [0x00, 0x34] + Array(repeating: 0xFC, count: 32)
        #expect(KernelTestBlocks.dequantize(.q8_0, q80, columns: 32) == Array(repeating: -1, count: 32))
        // Q6_K: d = 1, all scales 2, ql = 0x21 (lo 1, hi 2), qh = 0 -> (1-32)*2 and (2-32)*2
        var q6k = [UInt8](repeating: 0x21, count: 128) + [UInt8](repeating: 0, count: 64) + [UInt8](repeating: 2, count: 16) + [0x00, 0x3C]
        let q6 = KernelTestBlocks.dequantize(.q6_K, q6k, columns: 256)
        #expect(q6[0] == -62 && q6[32] == -62 && q6[64] == -60 && q6[96] == -60 && q6[255] == -60)
        q6k[128] = 0b0000_0011 // qh bits of element 0 -> +48
        #expect(KernelTestBlocks.dequantize(.q6_K, q6k, columns: 256)[0] == (1 + 48 - 32) * 2)
        // Q4_K: d = 1, dmin = 1, scales[0] = 3 (scale of sub-block 0), scales[4] = 5 (its min)
        var q4k = [UInt8](repeating: 0, count: 144)
        q4k[1] = 0x3C; q4k[3] = 0x3C; q4k[4] = 3; q4k[8] = 5
        for i in 16..<144 { q4k[i] = 0x72 } // lo 2, hi 7
        let q4 = KernelTestBlocks.dequantize(.q4_K, q4k, columns: 256)
        #expect(q4[0] == 3 * 2 - 5 && q4[31] == 1 && q4[32] == 0 && q4[255] == 0)
    }

    @Test(arguments: KernelTestBlocks.quantizedTypes)
    func simdDotEqualsPortableAndFloatReference(type: GGMLType) {
        var rng = SplitMix64(seed: UInt64(type.rawValue) + 7)
        let columns = 1024
        for _ in 0..<20 {
            let row = KernelTestBlocks.row(type, columns: columns, rng: &rng)
            let x = (0..<columns).map { _ in rng.float() * 3 }
            var xq = [hark_q8_block](repeating: hark_q8_block(), count: columns / 32)
            hark_quantize_q8(x, &xq, Int32(columns))
            let (fast, portable) = row.withUnsafeBytes { r in
                (hark_vec_dot_q8(Int32(type.rawValue), r.baseAddress, xq, Int32(columns)),
                 hark_vec_dot_q8_portable(Int32(type.rawValue), r.baseAddress, xq, Int32(columns)))
            }
            let w = KernelTestBlocks.dequantize(type, row, columns: columns)
            // The float reference uses the quantized activations too, so only float summation
            // order separates it from the kernels.
            var reference = 0.0, magnitude = 0.0
            for b in 0..<(columns / 32) {
                let qs = withUnsafeBytes(of: xq[b].qs) { Array($0.bindMemory(to: Int8.self)) }
                for j in 0..<32 {
                    let xv = Double(xq[b].d) * Double(qs[j])
                    reference += Double(w[b * 32 + j]) * xv
                    magnitude += abs(Double(w[b * 32 + j]) * xv)
                }
            }
            // Q4_1 folds d*sum(q) into s rounded to half precision: relative error up to 2^-11.
            let tolerance = magnitude * 1e-3 + 1e-4
            #expect(abs(Double(fast) - Double(portable)) <= magnitude * 1e-5 + 1e-5, "\(type) fast \(fast) portable \(portable)")
            #expect(abs(Double(portable) - reference) <= tolerance, "\(type) portable \(portable) reference \(reference)")
            // And the float-activation path agrees with the float reference on the raw input.
            let floatDot = row.withUnsafeBytes { hark_vec_dot_f32(Int32(type.rawValue), $0.baseAddress, x, Int32(columns)) }
            let exact = zip(w, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(Double(floatDot) - exact) <= magnitude * 1e-5 + 1e-4)
        }
    }

    /// Every kernel path this CPU runs (AVX-512 VNNI, AVX2, portable), forced one at a time:
    /// the portable one close to the reference dot product, the SIMD ones bit-identical to it, on
    /// random rows, including row lengths that leave a
    /// partial group of eight blocks (576 and 896 columns, as in SmolLM2 and Qwen2.5).
    @Test(arguments: KernelTestBlocks.quantizedTypes)
    func everyKernelPathEqualsPortable(type: GGMLType) {
        let paths = [HARK_LLM_PATH_PORTABLE, HARK_LLM_PATH_AVX2, HARK_LLM_PATH_AVX512_VNNI].map { Int32($0) }
        let available = hark_llm_kernel_paths()
        #expect(available & 1 == 1, "the portable path always runs")
        var rng = SplitMix64(seed: UInt64(type.rawValue) + 101)
        let lengths = type.blockSize == 256 ? [256, 768, 1024, 4864] : [32, 96, 576, 896, 1536]
        for columns in lengths {
            for _ in 0..<8 {
                let row = KernelTestBlocks.row(type, columns: columns, rng: &rng)
                let x = (0..<columns).map { _ in rng.float() * 4 }
                var xq = [hark_q8_block](repeating: hark_q8_block(), count: columns / 32)
                hark_quantize_q8(x, &xq, Int32(columns))
                row.withUnsafeBytes { r in
                    let reference = hark_vec_dot_q8_portable(Int32(type.rawValue), r.baseAddress, xq, Int32(columns))
                    var magnitude: Float = 0
                    let w = KernelTestBlocks.dequantize(type, row, columns: columns)
                    for b in 0..<(columns / 32) {
                        let qs = withUnsafeBytes(of: xq[b].qs) { Array($0.bindMemory(to: Int8.self)) }
                        for j in 0..<32 { magnitude += abs(w[b * 32 + j] * xq[b].d * Float(qs[j])) }
                    }
                    let portable = hark_vec_dot_q8_path(Int32(HARK_LLM_PATH_PORTABLE), Int32(type.rawValue), r.baseAddress, xq, Int32(columns))
                    #expect(abs(portable - reference) <= magnitude * 1e-5 + 1e-5, "\(type) \(columns) columns: \(portable) vs \(reference)")
                    for path in paths {
                        let value = hark_vec_dot_q8_path(path, Int32(type.rawValue), r.baseAddress, xq, Int32(columns))
                        if available & (1 << path) == 0 {
                            #expect(value.isNaN, "path \(path) is not available here and must say so")
                            continue
                        }
                        // Bit-identical: the model's output must not depend on the instruction set.
                        #expect(value == portable, "\(type) \(columns) columns, path \(path): \(value) vs \(portable)")
                    }
                }
            }
        }
    }

    /// The SIMD activation quantizer gives the same bytes as the portable loop, including on
    /// values that land exactly on .5 after scaling (roundf rounds those away from zero).
    @Test func simdQuantizationEqualsPortable() {
        var rng = SplitMix64(seed: 29)
        for trial in 0..<50 {
            let n = 32 * (1 + trial % 20)
            let x: [Float] = (0..<n).map { i in
                switch trial % 3 {
                case 0: return rng.float() * 7
                case 1: return Float(Int(rng.next() % 255) - 127) / 2 // many ties with amax 63.5
                default: return i % 5 == 0 ? 0 : rng.float() * 1e-3
                }
            }
            var fast = [hark_q8_block](repeating: hark_q8_block(), count: n / 32)
            var portable = fast
            hark_quantize_q8(x, &fast, Int32(n))
            hark_quantize_q8_portable(x, &portable, Int32(n))
            for b in 0..<(n / 32) {
                let a = withUnsafeBytes(of: fast[b]) { Array($0) }, p = withUnsafeBytes(of: portable[b]) { Array($0) }
                #expect(a == p, "trial \(trial) block \(b)")
            }
        }
    }

    @Test func quantizedActivationsApproximateInput() {
        var rng = SplitMix64(seed: 3)
        let x = (0..<256).map { _ in rng.float() * 10 }
        var xq = [hark_q8_block](repeating: hark_q8_block(), count: 8)
        hark_quantize_q8(x, &xq, 256)
        for b in 0..<8 {
            let qs = withUnsafeBytes(of: xq[b].qs) { Array($0.bindMemory(to: Int8.self)) }
            let amax = x[b * 32..<(b + 1) * 32].map(abs).max()!
            #expect(qs.map { abs(Int($0)) }.max() == 127)
            // Half a step of rounding plus 127 steps of the half-precision error of d (2^-11 relative).
            for j in 0..<32 { #expect(abs(xq[b].d * Float(qs[j]) - x[b * 32 + j]) <= amax / 127 * (0.5 + 127.0 / 2048)) }
            #expect(abs(xq[b].s - xq[b].d * Float(qs.reduce(0) { $0 + Int($1) })) <= abs(xq[b].s) * 1e-3)
        }
    }

    /// Both matrix-product strategies (one token: fused per-row kernels; several tokens: rows
    /// unpacked once and reused) give exactly the row dot products.
    @Test(arguments: KernelTestBlocks.quantizedTypes + [.f32, .f16], [1, 5])
    func threadedBatchedMatmulEqualsRowDots(type: GGMLType, tokens: Int) throws {
        var rng = SplitMix64(seed: 11)
        let rows = 200, columns = type.blockSize == 256 ? 768 : 576
        var w: [UInt8] = []
        for _ in 0..<rows { w += KernelTestBlocks.row(type, columns: columns, rng: &rng) }
        let x = (0..<(tokens * columns)).map { _ in rng.float() }
        var xq = [hark_q8_block](repeating: hark_q8_block(), count: tokens * columns / 32)
        hark_quantize_q8(x, &xq, Int32(tokens * columns))
        let pool = try #require(hark_pool_create(2))
        defer { hark_pool_destroy(pool) }
        #expect(hark_pool_threads(pool) == 2)
        var y = [Float](repeating: .nan, count: tokens * rows)
        let rowBytes = type.rowBytes(columns)
        for _ in 0..<3 { // the pool is reused across calls
            w.withUnsafeBytes { wp in
                hark_matmul(pool, Int32(type.rawValue), wp.baseAddress, rowBytes, Int32(rows), Int32(columns), x, xq, Int32(tokens), &y, Int32(rows))
            }
        }
        w.withUnsafeBytes { wp in
            for t in 0..<tokens {
                for r in 0..<rows {
                    let rowPtr = wp.baseAddress! + r * rowBytes
                    let expected: Float = type.blockSize == 1
                        ? x[(t * columns)...].withUnsafeBufferPointer { hark_vec_dot_f32(Int32(type.rawValue), rowPtr, $0.baseAddress, Int32(columns)) }
                        : xq[(t * columns / 32)...].withUnsafeBufferPointer { hark_vec_dot_q8(Int32(type.rawValue), rowPtr, $0.baseAddress, Int32(columns)) }
                    #expect(y[t * rows + r] == expected)
                }
            }
        }
    }
}
