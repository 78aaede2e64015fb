import CKernels
import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// Dequantized blocks of the real model files, as the `gguf` PyPI package computes them
/// (`scripts/reference/llm_reference.py`, committed in Tests/Fixtures/llm/dequant_*.json).
@Suite("Dequantization vs gguf reference")
struct KernelFixtureTests {
    struct Fixture: Decodable {
        struct Tensor: Decodable {
            var tensor: String
            var type: String
            var typeCode: UInt32
            var elements: Int
            var raw: String
            var values: [Float]
        }
        var tensors: [Tensor]
    }

    @Test(arguments: ["dequant_smollm2.json", "dequant_qwen2.5.json"])
    func blocksEqualReference(file: String) throws {
        let data = try Data(contentsOf: ProjectPaths.fixtures.appendingPathComponent("llm/\(file)"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(!fixture.tensors.isEmpty)
        var types = Set<String>()
        for t in fixture.tensors {
            let raw = try #require(Data(base64Encoded: t.raw))
            let type = try #require(GGMLType(rawValue: t.typeCode))
            #expect("\(type)" == t.type)
            #expect(raw.count == type.rowBytes(t.elements))
            let values = KernelTestBlocks.dequantize(type, Array(raw), columns: t.elements)
            #expect(values.count == t.values.count)
            // Both sides compute d * q (+ m) in single precision: equal up to float rounding.
            for (ours, reference) in zip(values, t.values) {
                #expect(abs(ours - reference) <= 1e-6 * max(1, abs(reference)), "\(t.tensor)")
            }
            types.insert(t.type)
        }
        print("dequantization checked for \(types.sorted()) in \(file)")
    }
}
