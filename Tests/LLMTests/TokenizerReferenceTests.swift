import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// Token ids identical to llama.cpp on the committed fixture strings.
struct TokenizerFixture: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int32]
        var decoded: String
    }
    var model: String
    var pre: String
    var cases: [Case]

    static func load(_ name: String) throws -> TokenizerFixture {
        let url = ProjectPaths.fixtures.appendingPathComponent("llm/\(name)")
        return try JSONDecoder().decode(TokenizerFixture.self, from: Data(contentsOf: url))
    }
}

enum LoadedTokenizers {
    static let smolLM2: Result<any LLMTokenizer, Error> = Result { try TokenizerFactory.make(from: GGUFFile(url: ProjectPaths.smolLM2)) }
    static let qwenURL = ProjectPaths.models.appendingPathComponent("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    static let qwen: Result<any LLMTokenizer, Error> = Result { try TokenizerFactory.make(from: GGUFFile(url: qwenURL)) }
}

@Suite struct TokenizerReferenceTests {
    static func check(_ tokenizer: any LLMTokenizer, _ fixture: TokenizerFixture) {
        var mismatches: [String] = []
        for c in fixture.cases {
            let ids = tokenizer.encode(c.text, addBOS: false, parseSpecial: true)
            if ids != c.ids { mismatches.append("\(c.text.debugDescription): \(ids) != llama.cpp \(c.ids)") }
            #expect(tokenizer.decode(c.ids) == c.decoded, "decode of \(c.text.debugDescription)")
            #expect(tokenizer.decode(ids) == c.text, "round trip of \(c.text.debugDescription)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(fixture.cases.count) differ from llama.cpp:\n\(mismatches.prefix(20).joined(separator: "\n"))")
        #expect(fixture.cases.count > 200)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ProjectPaths.smolLM2.path), "SmolLM2 model not installed"))
    func smolLM2MatchesLlamaCpp() throws {
        let tokenizer = try LoadedTokenizers.smolLM2.get()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2)
        #expect(tokenizer.endOfTurnIDs.contains(2))
        Self.check(tokenizer, try TokenizerFixture.load("tokenizer_smollm2.json"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: LoadedTokenizers.qwenURL.path), "Qwen2.5 model not installed"))
    func qwen25MatchesLlamaCpp() throws {
        let tokenizer = try LoadedTokenizers.qwen.get()
        #expect(tokenizer.endOfTurnIDs.contains(151645))
        Self.check(tokenizer, try TokenizerFixture.load("tokenizer_qwen2.5.json"))
    }
}
