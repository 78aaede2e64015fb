import Foundation
import Testing
import HarkTestSupport
@testable import LLM

@Suite("GGUF reader")
struct GGUFReaderTests {
    /// A file with one value of every metadata type, nested arrays and tensors of several types.
    static func sampleWriter() -> GGUFTestWriter {
        var w = GGUFTestWriter()
        w.add("general.architecture", .string("llama"))
        w.add("t.u8", .uint8(200))
        w.add("t.i8", .int8(-100))
        w.add("t.u16", .uint16(60000))
        w.add("t.i16", .int16(-30000))
        w.add("t.u32", .uint32(4_000_000_000))
        w.add("t.i32", .int32(-2_000_000_000))
        w.add("t.u64", .uint64(1 << 50))
        w.add("t.i64", .int64(-(1 << 50)))
        w.add("t.f32", .float32(1.5))
        w.add("t.f64", .float64(-2.25))
        w.add("t.bool", .bool(true))
        w.add("t.string", .string("héllo ✓"))
        w.add("t.strings", .array(elementType: .string, values: [.string("a"), .string(""), .string("ß")]))
        w.add("t.floats", .array(elementType: .float32, values: [.float32(0.5), .float32(-1)]))
        w.add("t.ints", .array(elementType: .int32, values: [.int32(3), .int32(-4)]))
        w.add("t.nested", .array(elementType: .array, values: [
            .array(elementType: .uint8, values: [.uint8(1), .uint8(2)]),
            .array(elementType: .string, values: [.string("x")]),
        ]))
        w.add("t.empty", .array(elementType: .float64, values: []))
        w.addTensor("a.f32", shape: [4, 2], floats: [1, 2, 3, 4, 5, 6, 7, 8])
        w.addTensor("b.q8_0", shape: [64, 3], type: .q8_0, bytes: Array(repeating: 0, count: 2 * 3 * 34))
        w.addTensor("c.q4_1", shape: [32], type: .q4_1, bytes: Array(repeating: 7, count: 20))
        w.addTensor("d.q6_k", shape: [256, 2], type: .q6_K, bytes: Array(repeating: 1, count: 2 * 210))
        return w
    }

    @Test func readsEveryMetadataTypeAndTensorInfo() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("sample.gguf")
        try Self.sampleWriter().write(to: url)
        let file = try GGUFFile(url: url)
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.int("t.u8") == 200)
        #expect(try file.int("t.i8") == -100)
        #expect(try file.int("t.u16") == 60000)
        #expect(try file.int("t.i16") == -30000)
        #expect(try file.int("t.u32") == 4_000_000_000)
        #expect(try file.int("t.i32") == -2_000_000_000)
        #expect(try file.int("t.u64") == 1 << 50)
        #expect(try file.int("t.i64") == -(1 << 50))
        #expect(try file.float("t.f32") == 1.5)
        #expect(try file.float("t.f64") == -2.25)
        #expect(try file.bool("t.bool"))
        #expect(try file.string("t.string") == "héllo ✓")
        #expect(try file.stringArray("t.strings") == ["a", "", "ß"])
        #expect(try file.floatArray("t.floats") == [0.5, -1])
        #expect(try file.intArray("t.ints") == [3, -4])
        #expect(file.metadata["t.nested"] == .array(elementType: .array, values: [
            .array(elementType: .uint8, values: [.uint8(1), .uint8(2)]),
            .array(elementType: .string, values: [.string("x")]),
        ]))
        #expect(file.metadata["t.empty"] == .array(elementType: .float64, values: []))
        #expect(throws: LLMError.metadataTypeMismatch(key: "t.string", expected: "integer", found: "string")) { try file.int("t.string") }
        #expect(throws: LLMError.missingMetadata(key: "nope")) { try file.string("nope") }

        #expect(file.tensorNames == ["a.f32", "b.q8_0", "c.q4_1", "d.q6_k"])
        let a = try file.tensor("a.f32")
        #expect(a.shape == [4, 2] && a.type == .f32 && a.byteCount == 32 && a.rowLength == 4 && a.rowCount == 2)
        #expect(a.fileOffset == file.dataOffset && file.dataOffset % 32 == 0)
        let floats = try file.data(for: "a.f32").bindMemory(to: Float.self)
        #expect(Array(floats) == [1, 2, 3, 4, 5, 6, 7, 8])
        let b = try file.tensor("b.q8_0")
        #expect(b.type == .q8_0 && b.byteCount == 204 && b.fileOffset % 32 == 0)
        #expect(try file.tensor("c.q4_1").byteCount == 20)
        #expect(try file.data(for: "c.q4_1").allSatisfy { $0 == 7 })
        #expect(try file.tensor("d.q6_k").byteCount == 420)
        #expect(throws: LLMError.missingTensor(name: "zzz")) { try file.tensor("zzz") }
    }

    @Test func honoursGeneralAlignmentAndVersion2() throws {
        var w = Self.sampleWriter()
        w.alignment = 64
        w.version = 2
        w.add("general.alignment", .uint32(64))
        let dir = try TemporaryDirectory()
        try w.write(to: dir.file("a.gguf"))
        let file = try GGUFFile(url: dir.file("a.gguf"))
        #expect(file.version == 2 && file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(Array(try file.data(for: "a.f32").bindMemory(to: Float.self)) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try file.tensor("b.q8_0").fileOffset % 64 == 0)
    }

    @Test func clearErrorsForBadFiles() throws {
        let dir = try TemporaryDirectory()
        let good = Self.sampleWriter().encoded()

        let missing = dir.file("missing.gguf")
        #expect(throws: LLMError.self) { try GGUFFile(url: missing) }

        var notGGUF = good
        notGGUF[0] = UInt8(ascii: "X")
        try Data(notGGUF).write(to: dir.file("bad.gguf"))
        #expect(throws: LLMError.notGGUF(path: dir.file("bad.gguf").path, foundMagic: 0x4655_4758)) {
            try GGUFFile(url: dir.file("bad.gguf"))
        }

        var v9 = good
        v9[4] = 9
        try Data(v9).write(to: dir.file("v9.gguf"))
        #expect(throws: LLMError.unsupportedVersion(path: dir.file("v9.gguf").path, version: 9)) {
            try GGUFFile(url: dir.file("v9.gguf"))
        }

        // Cut inside the last tensor's data: the error names the tensor.
        try Data(good.prefix(good.count - 100)).write(to: dir.file("cut.gguf"))
        do {
            _ = try GGUFFile(url: dir.file("cut.gguf"))
            Issue.record("truncated file was accepted")
        } catch let LLMError.truncated(_, what, _, _, _) {
            #expect(what.contains("d.q6_k"), "\(what)")
        }

        var w = GGUFTestWriter()
        w.addTensor("weird", shape: [32], type: .q8_1, bytes: Array(repeating: 0, count: 40))
        try w.write(to: dir.file("q81.gguf"))
        #expect(throws: LLMError.unsupportedTensorType(tensor: "weird", typeCode: 9)) { try GGUFFile(url: dir.file("q81.gguf")) }
    }

    /// Mutated and truncated copies of a valid file: every outcome is a parsed file or an
    /// `LLMError`, never a crash or another error type.
    @Test func fuzzedHeadersOnlyEverThrowLLMError() throws {
        let dir = try TemporaryDirectory()
        let good = Self.sampleWriter().encoded()
        let headerEnd = good.count - 512 // mutate mostly the header and tensor infos
        var rng = SplitMix64(seed: 0x6775_6666)
        var parsed = 0, rejected = 0
        let url = dir.file("fuzz.gguf")
        for round in 0..<600 {
            var bytes = good
            if round % 4 == 0 {
                bytes = Array(bytes.prefix(rng.int(0..<bytes.count)))
            } else {
                for _ in 0..<rng.int(1..<6) {
                    let at = rng.int(0..<headerEnd)
                    switch rng.int(0..<3) {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes[at] ^= UInt8(1 << rng.int(0..<8))
                    default: bytes[at] = [0x00, 0xFF, 0x7F, 0x80][rng.int(0..<4)]
                    }
                }
            }
            try Data(bytes).write(to: url)
            do {
                let file = try GGUFFile(url: url)
                for info in file.tensors.values {
                    #expect(info.fileOffset + info.byteCount <= file.fileSize)
                }
                parsed += 1
            } catch is LLMError {
                rejected += 1
            } catch {
                Issue.record("round \(round): non-LLMError \(error)")
            }
        }
        #expect(rejected > 100)
        #expect(parsed + rejected == 600)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ProjectPaths.smolLM2.path), "SmolLM2 model not installed"))
    func readsSmolLM2() throws {
        let file = try GGUFFile(url: ProjectPaths.smolLM2)
        #expect(file.version == 3)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.int("llama.embedding_length") == 576)
        #expect(try file.float("llama.rope.freq_base") == 100000)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49152)
        #expect(file.tensors.count == 272)
        let embd = try file.tensor("token_embd.weight")
        #expect(embd.type == .q8_0 && embd.shape == [576, 49152])
        #expect(try file.tensor("blk.0.ffn_down.weight").type == .q4_1)
        #expect(try file.tensor("blk.0.ffn_down.weight").shape == [1536, 576])
    }
}
