/// How rotary position embeddings pair up dimensions (llama.cpp `llama_rope_type`).
public enum RopeStyle: Sendable, Equatable {
    /// Adjacent pairs (2i, 2i+1): llama.cpp `LLAMA_ROPE_TYPE_NORM` (llama).
    case interleaved
    /// Halves (i, i + d/2): llama.cpp `LLAMA_ROPE_TYPE_NEOX` (qwen2).
    case neox
}

/// The decoder's shape, read from `<arch>.*` GGUF metadata.
public struct LLMHyperParameters: Sendable, Equatable {
    public var architecture: String
    public var blockCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var ropeDimensions: Int
    public var ropeFreqBase: Float
    public var ropeStyle: RopeStyle
    public var rmsNormEpsilon: Float
    public var contextLength: Int
    public var vocabularySize: Int

    /// Width of the key/value projections.
    public var kvWidth: Int { kvHeadCount * headDim }

    /// Reads the llama-family keys with prefix `arch` (llama.cpp `LLM_KV_*` names).
    static func read(from file: GGUFFile, architecture arch: String, ropeStyle: RopeStyle,
                     defaultRopeBase: Float) throws -> LLMHyperParameters {
        let embedding = try file.int("\(arch).embedding_length")
        let heads = try file.int("\(arch).attention.head_count")
        let kvHeads = try file.optionalInt("\(arch).attention.head_count_kv") ?? heads
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, embedding % heads == 0 else {
            throw LLMError.invalidArgument(name: "\(arch).attention.head_count",
                                           reason: "\(heads) heads / \(kvHeads) kv heads do not divide width \(embedding)")
        }
        let headDim = try file.optionalInt("\(arch).attention.key_length") ?? embedding / heads
        let vocab: Int
        if let n = try file.optionalInt("\(arch).vocab_size") {
            vocab = n
        } else {
            vocab = try file.tensor("token_embd.weight").rowCount
        }
        let hp = LLMHyperParameters(
            architecture: arch,
            blockCount: try file.int("\(arch).block_count"),
            embeddingLength: embedding,
            feedForwardLength: try file.int("\(arch).feed_forward_length"),
            headCount: heads,
            kvHeadCount: kvHeads,
            headDim: headDim,
            ropeDimensions: try file.optionalInt("\(arch).rope.dimension_count") ?? headDim,
            ropeFreqBase: try file.optionalFloat("\(arch).rope.freq_base") ?? defaultRopeBase,
            ropeStyle: ropeStyle,
            rmsNormEpsilon: try file.float("\(arch).attention.layer_norm_rms_epsilon"),
            contextLength: try file.optionalInt("\(arch).context_length") ?? 2048,
            vocabularySize: vocab)
        guard hp.blockCount > 0, hp.headDim % 2 == 0, hp.ropeDimensions <= hp.headDim, hp.ropeDimensions % 2 == 0 else {
            throw LLMError.invalidArgument(name: "\(arch) hyper-parameters", reason: "inconsistent: \(hp)")
        }
        return hp
    }
}
