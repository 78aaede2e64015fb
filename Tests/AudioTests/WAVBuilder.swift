import HarkTestSupport
import Foundation

/// Builds WAV bytes by hand, independently of `WAVWriter`, so tests can produce every format
/// and every malformation the reader must cope with.
struct WAVBuilder {
    enum Sample { case int(bits: Int), float(bits: Int) }

    var sample: Sample = .int(bits: 16)
    var channels = 1
    var sampleRate = 16000
    var extensible = false
    /// Overrides the format tag written (for codecs we must reject).
    var formatTag: UInt16?
    /// Overrides the `data` size field (streamed headers, lies).
    var dataSizeField: UInt32?
    /// Chunks placed between `fmt ` and `data`.
    var extraChunks: [(id: String, body: [UInt8])] = []
    var fmtSizeOverride: UInt32?

    var bits: Int {
        switch sample { case let .int(b), let .float(b): return b }
    }

    /// Encodes interleaved samples in -1...1 the way a careful writer would.
    func encodeSamples(_ samples: [Double]) -> [UInt8] {
        var out: [UInt8] = []
        for s in samples {
            switch sample {
            case .int(8):
                out.append(UInt8(clamping: Int((s * 128).rounded()) + 128))
            case .int(16):
                let v = Int16(clamping: Int((s * 32768).rounded()))
                out += le(UInt16(bitPattern: v), 2)
            case .int(24):
                let v = min(max(Int32((s * 8_388_608).rounded()), -8_388_608), 8_388_607)
                out += le(UInt32(bitPattern: v), 3)
            case .int(32):
                let v = Int32(clamping: Int64((s * 2_147_483_648).rounded()))
                out += le(UInt32(bitPattern: v), 4)
            case .float(32):
                out += le(Float(s).bitPattern, 4)
            case .float(64):
                out += le64(s.bitPattern)
            default:
                fatalError("builder: unsupported \(sample)")
            }
        }
        return out
    }

    func build(samples: [Double]) -> [UInt8] {
        build(rawData: encodeSamples(samples))
    }

    func build(rawData: [UInt8]) -> [UInt8] {
        let isFloat: Bool
        if case .float = sample { isFloat = true } else { isFloat = false }
        let plainTag: UInt16 = formatTag ?? (isFloat ? 3 : 1)
        var fmt: [UInt8] = []
        fmt += le(extensible ? 0xFFFE : plainTag, 2)
        fmt += le(UInt32(channels), 2)
        fmt += le(UInt32(sampleRate), 4)
        fmt += le(UInt32(truncatingIfNeeded: sampleRate * channels * bits / 8), 4)
        fmt += le(UInt32(truncatingIfNeeded: channels * bits / 8), 2)
        fmt += le(UInt32(bits), 2)
        if extensible {
            fmt += le(22, 2)                      // cbSize
            fmt += le(UInt32(bits), 2)            // valid bits
            fmt += le(0, 4)                       // channel mask
            fmt += le(UInt32(plainTag), 2)        // sub-format GUID: tag + fixed tail
            fmt += [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        }
        var body: [UInt8] = Array("WAVE".utf8)
        body += chunk("fmt ", fmt, sizeField: fmtSizeOverride)
        for extra in extraChunks { body += chunk(extra.id, extra.body) }
        body += Array("data".utf8)
        body += le(dataSizeField ?? UInt32(rawData.count), 4)
        body += rawData
        if rawData.count % 2 == 1 { body.append(0) }
        return Array("RIFF".utf8) + le(UInt32(body.count), 4) + body
    }

    func chunk(_ id: String, _ body: [UInt8], sizeField: UInt32? = nil) -> [UInt8] {
        var out = Array(id.utf8) + le(sizeField ?? UInt32(body.count), 4) + body
        if body.count % 2 == 1 { out.append(0) }
        return out
    }
}

/// `value`'s low `bytes` bytes, little-endian.
func le<T: BinaryInteger>(_ value: T, _ bytes: Int) -> [UInt8] {
    let v = UInt64(truncatingIfNeeded: value)
    return (0..<bytes).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) }
}

func le64(_ value: UInt64) -> [UInt8] { le(value, 8) }

