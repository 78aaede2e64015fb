/// One model family: how its hyper-parameters and weights are read from a GGUF file.
/// Each lives in its own file; `ArchitectureRegistry` finds them by `general.architecture`.
protocol ModelArchitecture: Sendable {
    /// The `general.architecture` value this implementation handles.
    static var name: String { get }
    static func hyperParameters(_ file: GGUFFile) throws -> LLMHyperParameters
    static func weights(_ file: GGUFFile, _ hp: LLMHyperParameters) throws -> DecoderWeights
}

/// Architectures by `general.architecture` name.
enum ArchitectureRegistry {
    static let all: [any ModelArchitecture.Type] = [LlamaArchitecture.self, Qwen2Architecture.self]

    static func architecture(named name: String) throws -> any ModelArchitecture.Type {
        guard let arch = all.first(where: { $0.name == name }) else {
            throw LLMError.unsupportedArchitecture(name, known: all.map { $0.name })
        }
        return arch
    }
}
