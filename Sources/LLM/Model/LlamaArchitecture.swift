/// `llama` (SmolLM2, Llama 2/3, TinyLlama...): RMSNorm, interleaved-pair RoPE (the GGUF
/// converter permutes Q/K for it), grouped-query attention, SwiGLU, optional tied embeddings.
enum LlamaArchitecture: ModelArchitecture {
    static let name = "llama"

    static func hyperParameters(_ file: GGUFFile) throws -> LLMHyperParameters {
        try LLMHyperParameters.read(from: file, architecture: name, ropeStyle: .interleaved, defaultRopeBase: 10_000)
    }

    static func weights(_ file: GGUFFile, _ hp: LLMHyperParameters) throws -> DecoderWeights {
        try DecoderWeights.load(file, hp, biases: false)
    }
}
