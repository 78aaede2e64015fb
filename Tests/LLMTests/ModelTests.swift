import CKernels
import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// A tiny random llama/qwen2 model written as GGUF by the test, with weights of several types.
enum TinyModel {
    static let embedding = 256, ffn = 512, vocab = 100, heads = 4, kvHeads = 2, blocks = 2

    static func writer(architecture: String = "llama", tiedOutput: Bool = true, seed: UInt64 = 1) -> GGUFTestWriter {
        var rng = SplitMix64(seed: seed)
        var w = GGUFTestWriter()
        let a = architecture
        w.add("general.architecture", .string(a))
        w.add("\(a).block_count", .uint32(UInt32(blocks)))
        w.add("\(a).context_length", .uint32(64))
        w.add("\(a).embedding_length", .uint32(UInt32(embedding)))
        w.add("\(a).feed_forward_length", .uint32(UInt32(ffn)))
        w.add("\(a).attention.head_count", .uint32(UInt32(heads)))
        w.add("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.add("\(a).rope.freq_base", .float32(10000))
        w.add("\(a).attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.add("\(a).vocab_size", .uint32(UInt32(vocab)))
        func matrix(_ name: String, _ type: GGMLType, rows: Int, cols: Int) {
            var bytes: [UInt8] = []
            for _ in 0..<rows { bytes += KernelTestBlocks.row(type, columns: cols, rng: &rng) }
            w.addTensor(name, shape: [cols, rows], type: type, bytes: bytes)
        }
        func vector(_ name: String, _ n: Int, around center: Float) {
            w.addTensor(name, shape: [n], floats: (0..<n).map { _ in center + 0.1 * rng.float() })
        }
        let kv = embedding / heads * kvHeads
        matrix("token_embd.weight", .q8_0, rows: vocab, cols: embedding)
        for i in 0..<blocks {
            vector("blk.\(i).attn_norm.weight", embedding, around: 1)
            matrix("blk.\(i).attn_q.weight", .q4_1, rows: embedding, cols: embedding)
            matrix("blk.\(i).attn_k.weight", .q4_0, rows: kv, cols: embedding)
            matrix("blk.\(i).attn_v.weight", .q5_0, rows: kv, cols: embedding)
            matrix("blk.\(i).attn_output.weight", .f16, rows: embedding, cols: embedding)
            if architecture == "qwen2" {
                vector("blk.\(i).attn_q.bias", embedding, around: 0)
                vector("blk.\(i).attn_k.bias", kv, around: 0)
                vector("blk.\(i).attn_v.bias", kv, around: 0)
            }
            vector("blk.\(i).ffn_norm.weight", embedding, around: 1)
            matrix("blk.\(i).ffn_gate.weight", .q5_K, rows: ffn, cols: embedding)
            matrix("blk.\(i).ffn_up.weight", .q4_K, rows: ffn, cols: embedding)
            matrix("blk.\(i).ffn_down.weight", .q6_K, rows: embedding, cols: ffn)
        }
        vector("output_norm.weight", embedding, around: 1)
        if !tiedOutput { matrix("output.weight", .f32, rows: vocab, cols: embedding) }
        return w
    }

    static func model(_ writer: GGUFTestWriter, in dir: TemporaryDirectory) throws -> LLMModel {
        let url = dir.file("tiny-\(UUID().uuidString).gguf")
        try writer.write(to: url)
        return try LLMModel(url: url)
    }
}

@Suite("Model")
struct ModelTests {
    @Test func tinyLlamaLoadsAndRunsWithConsistentBatching() throws {
        let dir = try TemporaryDirectory()
        let model = try TinyModel.model(TinyModel.writer(), in: dir)
        let hp = model.hyperParameters
        #expect(hp.architecture == "llama" && hp.blockCount == 2 && hp.headDim == 64 && hp.kvWidth == 128)
        #expect(hp.ropeStyle == .interleaved && hp.vocabularySize == 100 && hp.contextLength == 64)
        #expect(model.weights.output.name == "token_embd.weight") // tied

        let prompt = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38]
        // Whole prompt in one batch, in batches of 3, and token by token: the same logits.
        let batched = try LLMSession(model: model, threads: 2).evaluate(prompt)
        #expect(batched.count == 100 && batched.allSatisfy(\.isFinite))
        #expect(Set(batched).count > 50) // not degenerate
        let chunked = try LLMSession(model: model, threads: 1, batchCapacity: 3).evaluate(prompt)
        let stepwise = try LLMSession(model: model, threads: 2)
        var last: [Float] = []
        for t in prompt { last = try stepwise.evaluate([t]) }
        #expect(stepwise.tokens == prompt)
        for i in 0..<100 {
            #expect(abs(batched[i] - chunked[i]) <= 1e-3 * max(1, abs(batched[i])))
            #expect(abs(batched[i] - last[i]) <= 1e-3 * max(1, abs(batched[i])))
        }

        // Truncating and re-evaluating reproduces the logits.
        stepwise.truncate(to: 5)
        let again = try stepwise.evaluate(Array(prompt[5...]))
        #expect(again == last)
        stepwise.reset()
        #expect(stepwise.tokens.isEmpty)
    }

    @Test func qwen2WithBiasesAndSeparateOutput() throws {
        let dir = try TemporaryDirectory()
        let model = try TinyModel.model(TinyModel.writer(architecture: "qwen2", tiedOutput: false), in: dir)
        #expect(model.hyperParameters.ropeStyle == .neox)
        #expect(model.weights.layers[0].queryBias?.count == 256)
        #expect(model.weights.output.name == "output.weight" && model.weights.output.type == .f32)
        let logits = try LLMSession(model: model).evaluate([1, 2, 3])
        #expect(logits.count == 100 && logits.allSatisfy(\.isFinite))
    }

    @Test func clearErrorsForBadModelsAndInputs() throws {
        let dir = try TemporaryDirectory()
        var w = TinyModel.writer()
        w.metadata[0] = ("general.architecture", .string("gpt5"))
        #expect(throws: LLMError.unsupportedArchitecture("gpt5", known: ["llama", "qwen2"])) { try TinyModel.model(w, in: dir) }

        w = TinyModel.writer()
        w.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        #expect(throws: LLMError.missingTensor(name: "blk.1.ffn_up.weight")) { try TinyModel.model(w, in: dir) }

        w = TinyModel.writer(architecture: "qwen2")
        w.tensors.removeAll { $0.name == "blk.0.attn_k.bias" }
        #expect(throws: LLMError.missingTensor(name: "blk.0.attn_k.bias")) { try TinyModel.model(w, in: dir) }

        w = TinyModel.writer()
        w.metadata.removeAll { $0.0 == "llama.block_count" }
        #expect(throws: LLMError.missingMetadata(key: "llama.block_count")) { try TinyModel.model(w, in: dir) }

        let model = try TinyModel.model(TinyModel.writer(), in: dir)
        let session = try LLMSession(model: model)
        #expect(throws: LLMError.invalidToken(id: 100, vocabularySize: 100)) { try session.evaluate([1, 100]) }
        #expect(throws: LLMError.contextFull(limit: 64, needed: 70)) { try session.evaluate(Array(repeating: 1, count: 70)) }
        #expect(session.tokens.isEmpty)
    }
}

struct ForwardReference: Decodable {
    struct Case: Decodable {
        var tokens: [Int]
        var top_ids: [Int]
        var top_logits: [Float]
        var greedy: [Int]
        var greedy_margins: [Float]
    }
    var cases: [Case]
}

@Suite("SmolLM2 forward pass")
struct ModelSmolLM2Tests {
    static let available = FileManager.default.fileExists(atPath: ProjectPaths.smolLM2.path)

    /// Against `scripts/reference/llm_forward_reference.py` (numpy, f32 activations on the
    /// gguf-dequantized weights). Our activations are quantized to 8 bits like llama.cpp's, so
    /// logits agree to about 0.6 (llama.cpp's own logits, which ours equal, are 0.26, 0.23 and
    /// 0.574 off on the three cases), and the reference's greedy token (fed back teacher-forced)
    /// is our top token wherever the reference leads its runner-up by more than 0.5.
    @Test(.enabled(if: available, "SmolLM2 model not installed"))
    func matchesFloatReference() throws {
        let data = try Data(contentsOf: ProjectPaths.fixtures.appendingPathComponent("llm/forward_reference_smollm2.json"))
        let reference = try JSONDecoder().decode(ForwardReference.self, from: data)
        let model = try LLMModel(url: ProjectPaths.smolLM2)
        let hp = model.hyperParameters
        #expect(hp.blockCount == 30 && hp.embeddingLength == 576 && hp.headCount == 9 && hp.kvHeadCount == 3)
        #expect(hp.ropeFreqBase == 100_000 && hp.ropeStyle == .interleaved)
        let session = try LLMSession(model: model, threads: 2)
        for c in reference.cases {
            session.reset()
            var logits = try session.evaluate(c.tokens)
            var worst: Float = 0
            for (id, value) in zip(c.top_ids, c.top_logits) { worst = max(worst, abs(logits[id] - value)) }
            #expect(worst < 0.6, "largest logit difference \(worst)")
            var decided = 0
            for (expected, margin) in zip(c.greedy, c.greedy_margins) {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                if margin > 0.5 {
                    #expect(next == expected, "margin \(margin)")
                    decided += 1
                }
                logits = try session.evaluate([expected])
            }
            #expect(decided >= 5)
        }
    }
}
