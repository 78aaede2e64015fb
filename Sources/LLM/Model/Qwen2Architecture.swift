/// `qwen2` (Qwen2, Qwen2.5): the llama layout plus Q/K/V biases, NEOX-style RoPE
/// (llama.cpp `LLAMA_ROPE_TYPE_NEOX`), RoPE base 1e6 by default.
enum Qwen2Architecture: ModelArchitecture {
    static let name = "qwen2"

    static func hyperParameters(_ file: GGUFFile) throws -> LLMHyperParameters {
        try LLMHyperParameters.read(from: file, architecture: name, ropeStyle: .neox, defaultRopeBase: 1_000_000)
    }

    static func weights(_ file: GGUFFile, _ hp: LLMHyperParameters) throws -> DecoderWeights {
        try DecoderWeights.load(file, hp, biases: true)
    }
}
