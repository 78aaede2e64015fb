import HarkTestSupport
import Foundation
@testable import LLM

/// Writes small GGUF files for tests (the layout of ggml's docs/gguf.md, version 3).
struct GGUFTestWriter {
    var version: UInt32 = 3
    var alignment = 32
    var metadata: [(String, GGUFValue)] = []
    var tensors: [(name: String, shape: [Int], type: GGMLType, bytes: [UInt8])] = []

    mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    mutating func addTensor(_ name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) / type.blockSize * type.bytesPerBlock, "byte count of \(name)")
        tensors.append((name, shape, type, bytes))
    }

    /// F32 tensor from floats.
    mutating func addTensor(_ name: String, shape: [Int], floats: [Float]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        addTensor(name, shape: shape, type: .f32, bytes: bytes)
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        func typeCode(_ v: GGUFValue) -> GGUFValueType {
            switch v {
            case .uint8: return .uint8
            case .int8: return .int8
            case .uint16: return .uint16
            case .int16: return .int16
            case .uint32: return .uint32
            case .int32: return .int32
            case .uint64: return .uint64
            case .int64: return .int64
            case .float32: return .float32
            case .float64: return .float64
            case .bool: return .bool
            case .string: return .string
            case .array: return .array
            }
        }
        func putValue(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): put(x)
            case let .int8(x): put(x)
            case let .uint16(x): put(x)
            case let .int16(x): put(x)
            case let .uint32(x): put(x)
            case let .int32(x): put(x)
            case let .uint64(x): put(x)
            case let .int64(x): put(x)
            case let .float32(x): put(x.bitPattern)
            case let .float64(x): put(x.bitPattern)
            case let .bool(x): put(UInt8(x ? 1 : 0))
            case let .string(s): putString(s)
            case let .array(t, values):
                put(t.rawValue)
                put(UInt64(values.count))
                for e in values { putValue(e) }
            }
        }
        put(GGUFFile.magic)
        put(version)
        put(UInt64(tensors.count))
        put(UInt64(metadata.count))
        for (k, v) in metadata {
            putString(k)
            put(typeCode(v).rawValue)
            putValue(v)
        }
        var relative = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(relative)
            relative += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (i, t) in tensors.enumerated() {
            putString(t.name)
            put(UInt32(t.shape.count))
            for d in t.shape { put(UInt64(d)) }
            put(t.type.rawValue)
            put(UInt64(offsets[i]))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.bytes)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    func write(to url: URL) throws {
        try Data(encoded()).write(to: url)
    }
}

/// Test-data helpers on the shared deterministic generator.
extension SplitMix64 {
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
