import Foundation

/// The local language model as a voice assistant: loads a GGUF model with its tokenizer and chat
/// template, and streams short spoken-style answers.
///
/// Threading: one question at a time per instance (calls are serialised); the model weights are
/// shared and immutable, the conversation cache belongs to this instance.
///
/// ```swift
/// let llm = try LocalAssistantLLM(modelURL: url, threads: 2)
/// for try await piece in llm.answer("Why is the sky blue?") { print(piece, terminator: "") }
/// ```
public final class LocalAssistantLLM: @unchecked Sendable {
    public let model: LLMModel
    public let tokenizer: any LLMTokenizer
    public let template: ChatTemplate
    public let systemPrompt: String
    private let generator: TextGenerator

    /// - Parameters:
    ///   - threads: threads for the matrix products (2 suits this project's machines).
    ///   - contextLimit: longest conversation kept, in tokens.
    public init(modelURL: URL, threads: Int = 2, contextLimit: Int = 4096,
                systemPrompt: String = ChatTemplate.voiceAssistantSystemPrompt) throws {
        model = try LLMModel(url: modelURL)
        tokenizer = try TokenizerFactory.make(from: model.file)
        template = try ChatTemplate(gguf: model.file)
        self.systemPrompt = systemPrompt
        let session = try LLMSession(model: model, threads: threads, contextLimit: contextLimit)
        generator = TextGenerator(session: session, tokenizer: tokenizer)
    }

    /// The prompt tokens for `history` followed by `question`, ready for the assistant's turn.
    public func promptTokens(_ question: String, history: [ChatMessage]) -> [Int32] {
        var messages: [ChatMessage] = [.system(systemPrompt)]
        messages += history.filter { $0.role != .system }
        messages.append(.user(question))
        let text = template.render(messages, addGenerationPrompt: true)
        let addBOS = tokenizer.bosID != nil && model.file.metadata["tokenizer.ggml.add_bos_token"]?.boolValue == true
        return tokenizer.encode(text, addBOS: addBOS, parseSpecial: true)
    }

    /// Streams the answer to `question` after the earlier turns in `history`. Cached tokens of
    /// the previous call are reused when the conversation continues it.
    public func answer(_ question: String, history: [ChatMessage] = [],
                       config: GenerationConfig = .default) -> AsyncThrowingStream<String, Error> {
        var config = config
        config.stop = Array(Set(config.stop + template.stopStrings))
        let prompt = promptTokens(question, history: history)
        let session = generator.session
        // Keep the newest turns when the conversation outgrows the context.
        let rest: [Int32]
        if prompt.count + config.maxTokens > session.contextLimit && !history.isEmpty {
            return answer(question, history: Array(history.dropFirst(2)), config: config)
        }
        rest = session.reuseCache(for: prompt.map(Int.init)).map { Int32($0) }
        return generator.stream(prompt: rest, config: config)
    }

    /// Why the last answer ended.
    public var lastStopReason: StopReason? { generator.lastStopReason }
}
