/// Per-call generation options; every field has a default (llama.cpp's sampling defaults,
/// except a shorter answer length suited to a voice assistant).
public struct GenerationConfig: Sendable, Codable, Equatable {
    /// Most tokens generated (the end-of-turn token is not counted).
    public var maxTokens = 256
    /// Softmax temperature; 0 or less picks the most likely token (greedy).
    public var temperature: Float = 0.7
    /// Keep only the k most likely tokens (0: all).
    public var topK = 40
    /// Keep the most likely tokens up to this cumulative probability (1: all).
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP times the most likely one (0: none).
    public var minP: Float = 0.05
    /// Divide positive (multiply negative) logits of recently seen tokens by this (1: off).
    public var repetitionPenalty: Float = 1.1
    /// How many recent tokens the repetition penalty looks at.
    public var repetitionWindow = 64
    /// Seed of the sampler's random generator; nil draws one from the system.
    public var seed: UInt64? = nil
    /// Generation stops before any of these strings (they are not returned).
    public var stop: [String] = []

    public init(maxTokens: Int = 256, temperature: Float = 0.7, topK: Int = 40, topP: Float = 0.95,
                minP: Float = 0.05, repetitionPenalty: Float = 1.1, seed: UInt64? = nil, stop: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
        self.stop = stop
    }

    public static let `default` = GenerationConfig()

    /// Always the most likely token, no penalties: deterministic, comparable with llama.cpp.
    public static let greedy = GenerationConfig(temperature: 0, topK: 1, topP: 1, minP: 0, repetitionPenalty: 1)

    public var isGreedy: Bool { temperature <= 0 || topK == 1 }

    /// Throws `LLMError.invalidArgument` for values that make no sense.
    public func validate() throws {
        guard maxTokens >= 0 else { throw LLMError.invalidArgument(name: "maxTokens", reason: "\(maxTokens) is negative") }
        guard temperature.isFinite else { throw LLMError.invalidArgument(name: "temperature", reason: "\(temperature)") }
        guard topK >= 0 else { throw LLMError.invalidArgument(name: "topK", reason: "\(topK) is negative") }
        guard topP > 0, topP <= 1 else { throw LLMError.invalidArgument(name: "topP", reason: "\(topP) is not in (0, 1]") }
        guard minP >= 0, minP < 1 else { throw LLMError.invalidArgument(name: "minP", reason: "\(minP) is not in [0, 1)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw LLMError.invalidArgument(name: "repetitionPenalty", reason: "\(repetitionPenalty) is not positive")
        }
        guard repetitionWindow >= 0 else { throw LLMError.invalidArgument(name: "repetitionWindow", reason: "negative") }
    }
}
