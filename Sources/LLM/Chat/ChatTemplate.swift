/// One turn of a conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    public enum Role: String, Sendable, Codable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}

/// The prompt format a model was trained on, recognised from its `tokenizer.chat_template`
/// (a Jinja template Hark does not run: each known family is rendered by hand, like llama.cpp's
/// `llm_chat_apply_template`). The rendered text contains the control tokens as text; encode it
/// with `parseSpecial: true`. BOS is not part of it: the tokenizer adds it when the model wants one.
///
///     let template = try ChatTemplate(templateText: gguf.string("tokenizer.chat_template"))
///     let prompt = template.render([.system(ChatTemplate.voiceAssistantSystemPrompt), .user("Hi")],
///                                  addGenerationPrompt: true)
public enum ChatTemplate: String, Sendable, Codable, CaseIterable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen2.5, ...).
    case chatML
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3.x).
    case llama3
    /// `<start_of_turn>user\ncontent<end_of_turn>\n`, assistant turns as `model`, the system
    /// prompt folded into the first user turn (Gemma).
    case gemma

    /// A system prompt for spoken answers: short, plain, no formatting a voice cannot read.
    public static let voiceAssistantSystemPrompt =
        "You are Hark, a helpful voice assistant running on the user's own computer. " +
        "Your answers are spoken aloud, so reply in one or two short, natural sentences. " +
        "Do not use markdown, lists, code blocks, emoji or URLs. If you do not know, say so briefly."

    /// Recognises the family of a Jinja chat template by the markers it writes.
    /// Throws `LLMError.invalidArgument` for templates of other families.
    public init(templateText: String) throws {
        if templateText.contains("<|im_start|>") {
            self = .chatML
        } else if templateText.contains("<|start_header_id|>") {
            self = .llama3
        } else if templateText.contains("<start_of_turn>") {
            self = .gemma
        } else {
            throw LLMError.invalidArgument(
                name: "tokenizer.chat_template",
                reason: "not a ChatML, Llama-3 or Gemma template (starts \(String(templateText.prefix(60)).debugDescription))")
        }
    }

    /// The template family of a GGUF file (`tokenizer.chat_template`).
    public init(gguf: GGUFFile) throws {
        try self.init(templateText: gguf.string("tokenizer.chat_template"))
    }

    /// The conversation as prompt text; with `addGenerationPrompt`, ends with the header of an
    /// assistant turn for the model to complete.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML:
            for m in messages {
                out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(Self.trimmed(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .gemma:
            var system = ""
            for m in messages {
                switch m.role {
                case .system:
                    system += (system.isEmpty ? "" : "\n\n") + Self.trimmed(m.content)
                case .user, .assistant:
                    var content = Self.trimmed(m.content)
                    if m.role == .user && !system.isEmpty {
                        content = system + "\n\n" + content
                        system = ""
                    }
                    out += "<start_of_turn>\(m.role == .user ? "user" : "model")\n\(content)<end_of_turn>\n"
                }
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        }
        return out
    }

    /// Texts that end an assistant turn when the model writes them (as text or as a token).
    public var stopStrings: [String] {
        switch self {
        case .chatML: return ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]
        case .llama3: return ["<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>"]
        case .gemma: return ["<end_of_turn>", "<start_of_turn>", "<eos>"]
        }
    }

    /// The system prompt a ChatML template inserts when a conversation has none
    /// (`'<|im_start|>system\n...<|im_end|>` written literally in the template), if any.
    public static func builtInSystemPrompt(templateText: String) -> String? {
        // Templates spell the newline either as a real newline or as the two characters "\n".
        for marker in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            var search = templateText[...]
            while let open = search.range(of: marker) {
                let rest = search[open.upperBound...]
                guard let close = rest.range(of: "<|im_end|>") else { break }
                let body = String(rest[..<close.lowerBound])
                // Skip the spot where the template writes the caller's system message.
                if !body.contains("'") && !body.contains("{") && !body.contains("+") && !body.isEmpty {
                    return body
                }
                search = rest
            }
        }
        return nil
    }

    private static func trimmed(_ s: String) -> String {
        var sub = s[...]
        while let c = sub.first, c.isWhitespace { sub.removeFirst() }
        while let c = sub.last, c.isWhitespace { sub.removeLast() }
        return String(sub)
    }
}
