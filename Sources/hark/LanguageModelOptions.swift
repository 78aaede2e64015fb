import ArgumentParser
import Foundation
import LLM

/// The local language model's options, shared by `hark chat` and `hark ask`. The defaults suit
/// spoken replies from a small model: short, and close to greedy (higher temperatures make
/// SmolLM2-135M wander).
struct LanguageModelOptions: ParsableArguments {
    @Option(name: .long, help: "GGUF model file (default: the installed SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "Most tokens per answer.")
    var maxTokens = 96

    @Option(name: .long, help: "Sampling temperature; 0 always picks the most likely token.")
    var temperature: Float = 0.2

    @Option(name: .long, help: "Seed for reproducible sampling.")
    var seed: UInt64?

    @Option(name: .long, help: "Threads for the matrix products.")
    var threads = 2

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be in 1...64") }
    }

    /// Sampling settings from the flags (temperature 0 means greedy).
    var generationConfig: GenerationConfig {
        var config = temperature == 0 ? GenerationConfig.greedy : GenerationConfig(temperature: temperature, seed: seed)
        config.maxTokens = maxTokens
        return config
    }

    /// The GGUF file to load, checked to exist.
    func modelURL() throws -> URL {
        try ModelLocator.resolve(model, default: ModelLocator.smolLM2, kind: "Language model file")
    }

    /// Loads the model with its tokenizer, chat template and the voice-assistant system prompt.
    func makeAssistant() throws -> LocalAssistantLLM {
        try LocalAssistantLLM(modelURL: modelURL(), threads: threads)
    }
}
