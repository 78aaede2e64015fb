import Foundation

/// A loaded GGUF language model: hyper-parameters and weights, immutable and shared.
/// Weights stay quantized inside the memory-mapped file. Create one `LLMSession` per
/// conversation to run it.
///
/// ```swift
/// let model = try LLMModel(url: modelURL)
/// let session = try LLMSession(model: model, threads: 2)
/// let logits = try session.evaluate([1, 2, 3])   // next-token logits after the prompt
/// ```
public final class LLMModel: Sendable {
    public let file: GGUFFile
    public let hyperParameters: LLMHyperParameters
    let weights: DecoderWeights

    /// Opens `url` and loads the architecture named by `general.architecture`.
    public convenience init(url: URL) throws {
        try self.init(file: GGUFFile(url: url))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let arch = try ArchitectureRegistry.architecture(named: file.string("general.architecture"))
        hyperParameters = try arch.hyperParameters(file)
        weights = try arch.weights(file, hyperParameters)
    }

    /// Architectures this build can run.
    public static var supportedArchitectures: [String] { ArchitectureRegistry.all.map { $0.name } }
}
