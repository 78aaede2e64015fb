import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// Consistency of the committed LLM reference fixtures, and the tokenizer on the greedy prompts.
@Suite struct ReferenceFixtureTests {
    struct Dequant: Decodable {
        struct Tensor: Decodable {
            var tensor: String
            var type: String
            var typeCode: UInt32
            var blockElements: Int
            var blockBytes: Int
            var elements: Int
            var raw: String
            var values: [Float]
        }
        var tensors: [Tensor]
    }

    @Test(arguments: ["dequant_smollm2.json", "dequant_qwen2.5.json"])
    func dequantFixturesAreWellFormed(_ name: String) throws {
        let url = ProjectPaths.fixtures.appendingPathComponent("llm/\(name)")
        let fixture = try JSONDecoder().decode(Dequant.self, from: Data(contentsOf: url))
        #expect(fixture.tensors.contains { $0.type == "Q8_0" })
        for t in fixture.tensors {
            let raw = try #require(Data(base64Encoded: t.raw))
            #expect(raw.count == t.elements / t.blockElements * t.blockBytes, "\(t.tensor)")
            #expect(t.values.count == t.elements)
            let type = try #require(GGMLType(rawValue: t.typeCode))
            #expect(type.blockSize == t.blockElements && type.bytesPerBlock == t.blockBytes, "\(t.type)")
        }
    }

    struct Greedy: Decodable {
        struct Case: Decodable {
            var name: String
            var prompt: String
            var promptIDs: [Int32]
            var generatedIDs: [Int32]
            var generatedText: String
        }
        var tokens: Int
        var cases: [Case]
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ProjectPaths.smolLM2.path), "SmolLM2 model not installed"))
    func greedyPromptsTokenizeLikeLlamaCpp() throws {
        try Self.checkGreedyPrompts(try LoadedTokenizers.smolLM2.get(), "greedy_smollm2.json")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: LoadedTokenizers.qwenURL.path), "Qwen2.5 model not installed"))
    func qwenGreedyPromptsTokenizeLikeLlamaCpp() throws {
        try Self.checkGreedyPrompts(try LoadedTokenizers.qwen.get(), "greedy_qwen2.5.json")
    }

    static func checkGreedyPrompts(_ tokenizer: any LLMTokenizer, _ name: String) throws {
        let url = ProjectPaths.fixtures.appendingPathComponent("llm/\(name)")
        let fixture = try JSONDecoder().decode(Greedy.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count >= 3)
        for c in fixture.cases {
            #expect(tokenizer.encode(c.prompt, addBOS: false, parseSpecial: true) == c.promptIDs, "\(c.name)")
            #expect(c.generatedIDs.count == fixture.tokens)
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            let streamed = c.generatedIDs.map { stream.append($0) }.joined() + stream.finish()
            #expect(streamed == c.generatedText, "\(c.name)")
        }
    }
}
