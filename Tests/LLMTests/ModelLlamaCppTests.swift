import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// Greedy continuations from llama.cpp (`scripts/reference/llm_reference.py`, fixtures
/// `Tests/Fixtures/llm/greedy_<model>.json`): our greedy tokens must equal llama.cpp's for all
/// 32 tokens of every prompt. Shown as skipped (not passed) when the model or fixture is absent.
struct LlamaCppGreedyFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var promptIDs: [Int]
        var generatedIDs: [Int]
        var firstStepTop5: [[Double]]
    }
    var cases: [Case]

    static func url(_ key: String) -> URL { ProjectPaths.fixtures.appendingPathComponent("llm/greedy_\(key).json") }
    static func available(_ key: String, model: URL) -> Bool {
        FileManager.default.fileExists(atPath: url(key).path) && FileManager.default.fileExists(atPath: model.path)
    }
}

enum GreedyCheck {
    /// The default (fast) kernels. `exact`: every logit and every greedy token must equal
    /// llama.cpp's - models of Q4_0, Q4_1 and Q8_0 weights, whose products every kernel path
    /// sums in llama.cpp's order. Otherwise (the K-quants use other activation blocks in
    /// llama.cpp) held to llama.cpp's numbers within near-ties.
    static func run(_ key: String, model modelURL: URL, exact: Bool) throws {
        let fixture = try JSONDecoder().decode(LlamaCppGreedyFixture.self, from: Data(contentsOf: LlamaCppGreedyFixture.url(key)))
        #expect(!fixture.cases.isEmpty)
        let model = try LLMModel(url: modelURL)
        let session = try LLMSession(model: model, threads: 2)
        for c in fixture.cases {
            session.reset()
            var logits = try session.evaluate(c.promptIDs)
            // First-step logits (a fixture written with llama-cpp-python's logits_all=False holds
            // zeros there: nothing to compare, which an exact check does not accept).
            if exact {
                #expect(c.firstStepTop5.contains { $0.count == 2 && $0[1] != 0 }, "\(c.name): the fixture has no first-step logits")
                for pair in c.firstStepTop5 where pair.count == 2 {
                    #expect(logits[Int(pair[0])] == Float(pair[1]), "\(c.name): logit of \(Int(pair[0]))")
                }
            }
            // Teacher-forced along llama.cpp's own greedy path: at every step its choice must be
            // our top token or within a near-tie of it (0.5 logits).
            let firstLogits = logits
            for (step, expected) in c.generatedIDs.enumerated() {
                let top = logits.max()!
                #expect(top - logits[expected] < 0.5,
                        "\(c.name): step \(step): llama.cpp's token \(expected) is \(top - logits[expected]) below our top logit")
                logits = try session.evaluate([expected])
            }
            // Free-running greedy decoding from the same prompt.
            session.reset()
            logits = try session.evaluate(c.promptIDs)
            #expect(logits == firstLogits, "\(c.name): evaluation is deterministic")
            var generated: [Int] = []
            for _ in c.generatedIDs {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                generated.append(next)
                logits = try session.evaluate([next])
            }
            let agreed = zip(generated, c.generatedIDs).prefix { $0 == $1 }.count
            #expect(agreed >= 1, "\(c.name): the first generated token differs from llama.cpp's")
            if exact {
                #expect(generated == c.generatedIDs, "\(c.name): equal for \(agreed) tokens")
            } else {
                // The attention (f16 cache, f16 query and probabilities, its summation order and
                // exp), RoPE, SwiGLU, RMSNorm and the 8-bit activations round as llama.cpp's
                // (x86, AVX-512 build of llama-cpp-python 0.3.36) do; the K-quant products
                // differ in the last bits (other activation blocks and order). That difference
                // flips 8-bit activation roundings, grows through the layers and decides
                // near-ties (margins down to 0.011 logits). Known issue, not hidden.
                withKnownIssue("greedy tokens diverge from llama.cpp after a near-tie", isIntermittent: true) {
                    #expect(generated == c.generatedIDs, "\(c.name): equal for \(agreed) tokens")
                }
            }
        }
    }
}

@Suite("Greedy decoding vs llama.cpp")
struct ModelLlamaCppTests {
    @Test(.enabled(if: LlamaCppGreedyFixture.available("smollm2", model: ProjectPaths.smolLM2),
                   "SmolLM2 model or greedy_smollm2.json fixture absent"))
    func smolLM2GreedyEqualsLlamaCpp() throws {
        try GreedyCheck.run("smollm2", model: ProjectPaths.smolLM2, exact: true)
    }

    static let qwen = ProjectPaths.models.appendingPathComponent("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")

    @Test(.enabled(if: LlamaCppGreedyFixture.available("qwen2.5", model: qwen),
                   "Qwen2.5 model (scripts/setup --all) or greedy_qwen2.5.json fixture absent"))
    func qwenGreedyEqualsLlamaCpp() throws {
        try GreedyCheck.run("qwen2.5", model: Self.qwen, exact: false)
    }
}

/// The optional Qwen2.5-Coder Q4_K_M file (installed by `scripts/setup --all` only).
@Suite("Qwen2.5 model")
struct ModelQwenTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: ModelLlamaCppTests.qwen.path),
                   "Qwen2.5 model not installed (scripts/setup --all)"))
    func loadsAndAnswers() async throws {
        let llm = try LocalAssistantLLM(modelURL: ModelLlamaCppTests.qwen, threads: 2)
        let hp = llm.model.hyperParameters
        #expect(hp.architecture == "qwen2" && hp.blockCount == 24 && hp.embeddingLength == 896)
        #expect(hp.headCount == 14 && hp.kvHeadCount == 2 && hp.ropeFreqBase == 1_000_000 && hp.ropeStyle == .neox)
        #expect(llm.model.weights.layers[0].queryBias != nil)
        var config = GenerationConfig.greedy
        config.maxTokens = 24
        var answer = ""
        for try await piece in llm.answer("What is the capital of France?", config: config) { answer += piece }
        #expect(answer.contains("Paris"), "\(answer)")
    }
}
