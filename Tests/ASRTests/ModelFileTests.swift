import CKernels
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

@Suite struct ModelFileTests {
    /// A small valid file: a few variables of several types and an alias.
    static func smallFile() -> Data {
        var w = ModelBinWriter()
        w.add("a/weight", [2, 3], f16: [1, -2, 0.5, 0, 65504, -0.25])
        w.add("a/bias", f32: [1.5, 2.5], shape: [2])
        w.addScalar("num_heads", int16: 6)
        w.aliases = [("b/weight", "a/weight")]
        return w.data()
    }

    @Test func readsVariablesShapesTypesAndAliases() throws {
        let dir = try TemporaryDirectory()
        try Self.smallFile().write(to: dir.file("model.bin"))
        let file = try CTranslate2ModelFile(url: dir.file("model.bin"))
        #expect(file.specName == "WhisperSpec")
        #expect(file.revision == 3)
        #expect(file.variables.map(\.name) == ["a/weight", "a/bias", "num_heads"])
        #expect(try file.variable("a/weight").shape == [2, 3])
        #expect(try file.variable("a/weight").dataType == .float16)
        #expect(try file.floats("a/weight") == [1, -2, 0.5, 0, 65504, -0.25])
        #expect(try file.floats("b/weight") == [1, -2, 0.5, 0, 65504, -0.25])
        #expect(try file.floats("a/bias", shape: [2]) == [1.5, 2.5])
        #expect(try file.integer("num_heads") == 6)
        #expect(throws: ASRError.self) { try file.floats("a/bias", shape: [3]) }
        #expect(throws: ASRError.self) { try file.variable("missing") }
    }

    @Test func halfFloatConversionMatchesSwiftOnEveryBitPattern() {
        let bits = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: bits.count)
        bits.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { hark_f16_to_f32(b.baseAddress!, $0.baseAddress!, bits.count) } }
        for (i, pattern) in bits.enumerated() {
            let expected = Float(Float16(bitPattern: pattern))
            if expected.isNaN { #expect(out[i].isNaN) } else if out[i] != expected {
                Issue.record("f16 \(pattern): \(out[i]) != \(expected)")
                return
            }
        }
    }

    @Test func everyTruncationIsAnErrorNamingWhere() throws {
        let dir = try TemporaryDirectory()
        let data = Self.smallFile()
        // Dropping the alias table entirely is a valid older file; every other cut is an error.
        let aliasStart = data.count - (4 + 2 + 9 + 2 + 9)
        for length in 0..<data.count where length != aliasStart {
            let url = dir.file("cut\(length).bin")
            try data.prefix(length).write(to: url)
            do {
                _ = try CTranslate2ModelFile(url: url)
                Issue.record("a file cut at \(length) of \(data.count) bytes was accepted")
            } catch let error as ASRError {
                if case let .truncatedModel(_, offset, _, _) = error {
                    #expect(offset <= length)
                } else if case .unsupportedModelVersion = error {
                    #expect(length < 4)
                } else {
                    Issue.record("cut at \(length): unexpected \(error)")
                }
            }
        }
        // A cut inside the data of `a/bias` names it.
        let cut = dir.file("cut.bin")
        try data.prefix(80).write(to: cut)
        #expect(throws: ASRError.self) { try CTranslate2ModelFile(url: cut) }
        do { _ = try CTranslate2ModelFile(url: cut) } catch let error as ASRError {
            #expect(String(describing: error).contains("'a/"))
        }
    }

    @Test func fuzzedHeadersThrowOrLoadButNeverCrash() throws {
        let dir = try TemporaryDirectory()
        let original = Self.smallFile()
        var rng = HarkTestSupport.SplitMix64(seed: 42)
        var errors = 0
        for round in 0..<600 {
            var bytes = [UInt8](original)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[position] = round % 3 == 0 ? 0xff : UInt8.random(in: 0...255, using: &rng)
            }
            if round % 5 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))) }
            let url = dir.file("fuzz\(round).bin")
            try Data(bytes).write(to: url)
            do {
                let file = try CTranslate2ModelFile(url: url)
                // Whatever loaded must be readable without crashing.
                for variable in file.variables { _ = try file.floats(variable.name) }
            } catch is ASRError {
                errors += 1
            }
        }
        #expect(errors > 300)
    }

    @Test func missingFileAndBadVersionAreClearErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: ASRError.self) { try CTranslate2ModelFile(url: dir.file("nothing.bin")) }
        var data = Self.smallFile()
        data[0] = 5
        try data.write(to: dir.file("v5.bin"))
        do { _ = try CTranslate2ModelFile(url: dir.file("v5.bin")); Issue.record("version 5 accepted") } catch let error as ASRError {
            #expect(error.description.contains("version 5"))
        }
        try Data("{\"suppress_ids\": 3}".utf8).write(to: dir.file("config.json"))
        #expect(throws: ASRError.self) { try WhisperModelConfig.load(dir.file("config.json")) }
    }

    @Test func realTinyEnLayout() throws {
        let file = try CTranslate2ModelFile(url: ProjectPaths.whisperTinyEn.appendingPathComponent("model.bin"))
        #expect(file.specName == "WhisperSpec")
        #expect(try file.variable("decoder/projection/weight").name == "decoder/embeddings/weight")
        #expect(try file.variable("encoder/layer_3/self_attention/linear_0/weight").shape == [1152, 384])
        #expect(try file.variable("decoder/layer_0/attention/linear_1/weight").shape == [768, 384])
        let config = try WhisperModelConfig.load(ProjectPaths.whisperTinyEn.appendingPathComponent("config.json"))
        #expect(config.suppressIDsBegin == [220, 50256])
        #expect(config.alignmentHeads.count == 8)
        #expect(config.suppressIDs.count > 50)
    }
}

/// The vectorised kernels against plain loops.
@Suite struct ModelKernelTests {
    @Test func geluMatchesErfDefinition() {
        var x: [Float] = (0..<1000).map { Float($0 - 500) / 50 } + [-100, 100, 0]
        let expected = x.map { 0.5 * $0 * (1 + erf($0 / Float(2).squareRoot())) }
        hark_gelu(&x, x.count)
        for (a, b) in zip(x, expected) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b))) }
    }

    @Test func softmaxRowsMatchPlainLoopWithCausalMask() {
        var rng = HarkTestSupport.SplitMix64(seed: 9)
        let cols = 37
        let input = (0..<(3 * cols)).map { _ in Float.random(in: -30...30, using: &rng) }
        var x = input
        let valid: [Int32] = [37, 5, 1]
        hark_softmax_rows(&x, 3, cols, cols, valid)
        for r in 0..<3 {
            let n = Int(valid[r])
            let row = Array(input[(r * cols)..<(r * cols + n)])
            let m = row.max()!
            let e = row.map { expf($0 - m) }
            let s = e.reduce(0, +)
            for i in 0..<cols {
                let expected = i < n ? e[i] / s : 0
                #expect(abs(x[r * cols + i] - expected) <= 1e-6)
            }
        }
    }
}
