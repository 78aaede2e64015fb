import Foundation
import HarkTestSupport
import Testing
import VAD

/// Builds safetensors bytes in-process for tests.
enum SafetensorsWriter {
    static func file(_ tensors: [(name: String, dtype: SafetensorsFile.DType, shape: [Int], values: [Float])],
                     metadata: [String: String]? = nil) -> Data {
        var payload = Data()
        var header: [String: Any] = [:]
        for tensor in tensors {
            let begin = payload.count
            for value in tensor.values {
                switch tensor.dtype {
                case .f32: withUnsafeBytes(of: value.bitPattern.littleEndian) { payload.append(contentsOf: $0) }
                case .bf16: withUnsafeBytes(of: UInt16(value.bitPattern >> 16).littleEndian) { payload.append(contentsOf: $0) }
                case .f16: withUnsafeBytes(of: Float16Bits.encode(value).littleEndian) { payload.append(contentsOf: $0) }
                default: preconditionFailure("test writer: unsupported dtype")
                }
            }
            header[tensor.name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape, "data_offsets": [begin, payload.count]]
        }
        if let metadata { header["__metadata__"] = metadata }
        return raw(header: try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]), payload: payload)
    }

    static func raw(header: Data, payload: Data, declaredLength: UInt64? = nil) -> Data {
        var out = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(header.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        out.append(payload)
        return out
    }
}

/// Float -> binary16 for values exactly representable in half precision (test data only).
enum Float16Bits {
    static func encode(_ value: Float) -> UInt16 {
        if value == 0 { return value.sign == .minus ? 0x8000 : 0 }
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF) - 127
        let mantissa = bits & 0x7F_FFFF
        if exponent < -14 {  // subnormal half
            return sign | UInt16((abs(value) / 0x1p-24).rounded())
        }
        return sign | UInt16(exponent + 15) << 10 | UInt16(mantissa >> 13)
    }
}

@Suite struct SafetensorsTests {
    @Test func readsF32F16BF16AndMetadata() throws {
        let values: [Float] = [0, 1, -2, 0.5, 65504, 0x1p-24, -0.25, 3]
        let bytes = SafetensorsWriter.file([
            ("a", .f32, [2, 4], values), ("b", .f16, [8], values), ("c", .bf16, [4, 2], [0, 1, -2, 0.5, 65536, 0x1p-24, -0.25, 3]),
        ], metadata: ["format": "pt"])
        let file = try SafetensorsFile(bytes: bytes, path: "t.safetensors")
        #expect(file.metadata == ["format": "pt"])
        #expect(Set(file.tensors.keys) == ["a", "b", "c"])
        #expect(try file.floats("a", shape: [2, 4]) == values)
        #expect(try file.floats("b") == values)
        #expect(try file.info("c").shape == [4, 2])
        #expect(try file.floats("c") == [0, 1, -2, 0.5, 65536, 0x1p-24, -0.25, 3])  // exactly representable in bfloat16
    }

    @Test func halfConversionHandlesSpecialValues() {
        #expect(SafetensorsFile.floatFromHalf(0x3C00) == 1)
        #expect(SafetensorsFile.floatFromHalf(0xC000) == -2)
        #expect(SafetensorsFile.floatFromHalf(0x7BFF) == 65504)
        #expect(SafetensorsFile.floatFromHalf(0x0001) == 0x1p-24)
        #expect(SafetensorsFile.floatFromHalf(0x03FF) == Float(1023) * 0x1p-24)
        #expect(SafetensorsFile.floatFromHalf(0x7C00) == .infinity)
        #expect(SafetensorsFile.floatFromHalf(0xFC00) == -.infinity)
        #expect(SafetensorsFile.floatFromHalf(0x7E00).isNaN)
        #expect(SafetensorsFile.floatFromHalf(0x8000).sign == .minus)
    }

    @Test func clearErrorsForBadFiles() throws {
        let good = SafetensorsWriter.file([("w", .f32, [2], [1, 2])])
        #expect(throws: VADError.truncated(path: "p", what: "the 8-byte header length", needed: 8, available: 3)) {
            try SafetensorsFile(bytes: good.prefix(3), path: "p")
        }
        let headerLength = good.count - 8 - 8
        #expect(throws: VADError.truncated(path: "p", what: "the JSON header", needed: 8 + headerLength, available: 20)) {
            try SafetensorsFile(bytes: good.prefix(20), path: "p")
        }
        // Payload cut short: the tensor's range now lies past the end of the data section.
        #expect(throws: VADError.tensorOutOfBounds(path: "p", tensor: "w", begin: 0, end: 8, dataSize: 4)) {
            try SafetensorsFile(bytes: good.prefix(good.count - 4), path: "p")
        }
        #expect(throws: VADError.corruptHeader(path: "p", headerLength: 5, reason: "not valid JSON")) {
            try SafetensorsFile(bytes: SafetensorsWriter.raw(header: Data("{oops".utf8), payload: Data()), path: "p")
        }
        #expect(throws: VADError.self) {
            try SafetensorsFile(bytes: SafetensorsWriter.raw(header: Data("{}".utf8), payload: Data(), declaredLength: 1 << 40), path: "p")
        }
        let wrongSize = SafetensorsWriter.raw(header: Data(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#.utf8), payload: Data(count: 8))
        #expect(throws: VADError.self) { try SafetensorsFile(bytes: wrongSize, path: "p") }
        let unknownType = SafetensorsWriter.raw(header: Data(#"{"w":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}}"#.utf8), payload: Data(count: 2))
        #expect(throws: VADError.badTensorEntry(path: "p", tensor: "w", reason: "unknown dtype 'F12'")) {
            try SafetensorsFile(bytes: unknownType, path: "p")
        }
        let integers = SafetensorsWriter.raw(header: Data(#"{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#.utf8), payload: Data(count: 4))
        let file = try SafetensorsFile(bytes: integers, path: "p")
        #expect(throws: VADError.unsupportedDType(path: "p", tensor: "w", dtype: "I32")) { try file.floats("w") }
        #expect(throws: VADError.missingTensor(path: "p", tensor: "v")) { try file.floats("v") }
        #expect(throws: VADError.shapeMismatch(path: "p", tensor: "w", expected: [2], found: [1])) { try file.floats("w", shape: [2]) }
        let fractional = SafetensorsWriter.raw(header: Data(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#.utf8), payload: Data(count: 4))
        #expect(throws: VADError.self) { try SafetensorsFile(bytes: fractional, path: "p") }
        let huge = SafetensorsWriter.raw(header: Data(#"{"w":{"dtype":"F32","shape":[1e300, 1e300],"data_offsets":[0,4]}}"#.utf8), payload: Data(count: 4))
        #expect(throws: VADError.self) { try SafetensorsFile(bytes: huge, path: "p") }
    }

    @Test func missingFileIsUnreadable() {
        let url = URL(fileURLWithPath: "/nonexistent/hark/silero.safetensors")
        #expect(throws: VADError.self) { try SafetensorsFile(contentsOf: url) }
        do {
            _ = try SafetensorsFile(contentsOf: url)
        } catch {
            #expect(error.description.contains("/nonexistent/hark/silero.safetensors"))
        }
    }

    @Test func truncatedRealModelFails() throws {
        let real = try Data(contentsOf: ProjectPaths.sileroVAD)
        let dir = try TemporaryDirectory()
        let cut = dir.file("cut.safetensors")
        try real.prefix(real.count / 2).write(to: cut)
        #expect(throws: VADError.self) { try SileroVADModel(contentsOf: cut) }
    }

    /// The real model file with a mutated header: loading the model must throw or succeed.
    @Test func fuzzedRealModelHeaderOnlyThrows() throws {
        let real = [UInt8](try Data(contentsOf: ProjectPaths.sileroVAD))
        let headerEnd = 8 + Int(real.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var generator = SeededGenerator(seed: 0x00C0_FFEE)
        let digits = Array("0123456789".utf8)
        var loaded = 0, failed = 0
        for round in 0..<200 {
            var bytes = real
            for _ in 0..<(1 + round % 3) {
                let at = Int.random(in: 8..<headerEnd, using: &generator)
                // Digits mostly (shapes and offsets stay syntactically valid), sometimes any byte.
                bytes[at] = round % 4 == 0 ? UInt8.random(in: 0...255, using: &generator) : digits.randomElement(using: &generator)!
            }
            do {
                _ = try SileroVADModel(file: SafetensorsFile(bytes: Data(bytes), path: "fuzz"))
                loaded += 1
            } catch {
                #expect(error.description.contains("fuzz"))
                failed += 1
            }
        }
        #expect(failed > 60 && loaded + failed == 200)
    }

    /// Seeded fuzzing: mutated bytes, truncations, and header edits must only ever produce
    /// VADError (or a valid file), never a crash. Valid results are read in full.
    @Test func fuzzedHeadersOnlyThrow() throws {
        let base = SafetensorsWriter.file([
            ("a", .f32, [2, 3], [1, 2, 3, 4, 5, 6]), ("b", .f16, [4], [1, 2, 3, 4]), ("c", .bf16, [2], [1, -1]),
        ], metadata: ["k": "v"])
        let headerEnd = 8 + Int(base.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        var generator = SeededGenerator(seed: 0x5AFE_7E45)
        let tokens = Array("{}[]\",:0123456789-.eE truefalsenull\\u".utf8)
        var errors = 0, valid = 0
        for round in 0..<4000 {
            var bytes = [UInt8](base)
            switch round % 5 {
            case 0:  // flip random bytes anywhere in the header (length included)
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<headerEnd, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            case 1:  // JSON-ish token substitution inside the header
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 8..<headerEnd, using: &generator)] = tokens.randomElement(using: &generator)!
                }
            case 2:  // truncate anywhere
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            case 3:  // rewrite the length field
                let length = [0, 1, 2, headerEnd - 9, headerEnd - 7, Int(UInt32.max), Int.max / 2].randomElement(using: &generator)!
                withUnsafeBytes(of: UInt64(length).littleEndian) { for k in 0..<8 { bytes[k] = $0[k] } }
            default:  // delete or duplicate a header byte (keeps the declared length)
                let at = Int.random(in: 8..<headerEnd, using: &generator)
                if Bool.random(using: &generator) { bytes.remove(at: at) } else { bytes.insert(bytes[at], at: at) }
            }
            do {
                let file = try SafetensorsFile(bytes: Data(bytes), path: "fuzz")
                for (name, info) in file.tensors where [.f32, .f16, .bf16].contains(info.dtype) {
                    #expect(try file.floats(name).count == info.elementCount)
                }
                valid += 1
            } catch {
                #expect(!error.description.isEmpty)
                errors += 1
            }
        }
        #expect(errors > 1000)
        #expect(valid + errors == 4000)
    }
}
