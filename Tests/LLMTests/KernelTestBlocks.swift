import HarkTestSupport
import CKernels
@testable import LLM

/// Random but valid quantized rows: random payload bytes with sane half-precision scales.
enum KernelTestBlocks {
    /// Row `row` of `weights` (rows of `type`, `columns` wide) times token `token` of `xq`, on
    /// the portable path: the products every other path must equal bit for bit.
    static func portableDot(_ type: GGMLType, weights: UnsafeRawBufferPointer, row: Int, columns: Int,
                            xq: [hark_q8_block], token: Int) -> Float {
        xq[(token * columns / 32)...].withUnsafeBufferPointer {
            hark_vec_dot_q8_path(Int32(HARK_LLM_PATH_PORTABLE), Int32(type.rawValue),
                                 weights.baseAddress! + row * type.rowBytes(columns), $0.baseAddress, Int32(columns))
        }
    }

    /// Byte offsets of the f16 scale fields in one block of `type`.
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0: return [0]
        case .q4_1, .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// The largest |quant * sub-scale| of a format.
    static func maxQuant(_ type: GGMLType) -> Float {
        switch type {
        case .q4_0: return 8
        case .q4_1: return 15
        case .q5_0: return 16
        case .q8_0: return 127
        case .q4_K: return 15 * 63
        case .q5_K: return 31 * 63
        case .q6_K: return 32 * 127
        default: return 1
        }
    }

    static func row(_ type: GGMLType, columns: Int, rng: inout SplitMix64) -> [UInt8] {
        if type == .f32 {
            var out: [UInt8] = []
            for _ in 0..<columns { withUnsafeBytes(of: rng.float().bitPattern) { out.append(contentsOf: $0) } }
            return out
        }
        if type == .f16 || type == .bf16 {
            var out: [UInt8] = []
            for _ in 0..<columns {
                let bits: UInt16 = type == .f16 ? hark_fp32_to_fp16(rng.float()) : UInt16(rng.float().bitPattern >> 16)
                withUnsafeBytes(of: bits) { out.append(contentsOf: $0) }
            }
            return out
        }
        var bytes = rng.bytes(type.rowBytes(columns))
        for block in 0..<(columns / type.blockSize) {
            for offset in scaleOffsets(type) {
                // Weights of about +-0.02 whatever the format, so random models stay finite.
                let scale = hark_fp32_to_fp16((rng.float() + 1.5) * 0.02 / maxQuant(type))
                bytes[block * type.bytesPerBlock + offset] = UInt8(scale & 0xFF)
                bytes[block * type.bytesPerBlock + offset + 1] = UInt8(scale >> 8)
            }
        }
        return bytes
    }

    static func dequantize(_ type: GGMLType, _ bytes: [UInt8], columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: columns)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer {
                hark_dequantize_row(Int32(type.rawValue), src.baseAddress!, $0.baseAddress!, Int32(columns))
            }
        }
        return out
    }

    static let quantizedTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q5_K, .q6_K]
}
