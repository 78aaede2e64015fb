import Foundation

/// Text to token ids and back, for one model's vocabulary.
///
/// Implementations are immutable after construction and safe to share between tasks.
///
///     let tokenizer = try TokenizerFactory.make(from: GGUFFile(url: modelURL))
///     let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n", addBOS: false, parseSpecial: true)
///     let text = tokenizer.decode(ids)
public protocol LLMTokenizer: Sendable {
    /// Token ids for `text`. `addBOS` prepends the beginning-of-sequence token when the vocabulary
    /// has one. With `parseSpecial`, control tokens written in the text (`<|im_start|>`) become their
    /// ids; without it they are tokenized as plain text. User-defined tokens are always matched.
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32]
    /// The text of `ids`, control tokens included as their text; invalid UTF-8 becomes U+FFFD.
    func decode(_ ids: [Int32]) -> String
    /// The bytes token `id` stands for (possibly part of a UTF-8 character); empty for unknown ids.
    func piece(_ id: Int32) -> [UInt8]
    /// Beginning-of-sequence token, when the vocabulary has one.
    var bosID: Int32? { get }
    /// End-of-sequence token, when the vocabulary has one.
    var eosID: Int32? { get }
    /// Tokens that end an assistant turn (end-of-sequence, `<|im_end|>`, `<|eot_id|>`, ...).
    var endOfTurnIDs: Set<Int32> { get }
    /// Number of tokens in the vocabulary.
    var vocabularySize: Int { get }
}

/// How a vocabulary entry is used (the GGUF `tokenizer.ggml.token_type` codes, as in llama.cpp).
public enum TokenType: Int32, Sendable, Codable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    /// Control tokens (`<|im_start|>`): matched in text only when parsing special tokens.
    case control = 3
    /// Added tokens (`<tool_call>`): never split, always matched in text.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0xNN>`.
    case byte = 6
}

/// Everything a tokenizer is built from, in plain arrays: what the GGUF `tokenizer.ggml.*` keys
/// hold. Tests build tiny vocabularies by hand with it.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a byte-level BPE vocabulary ("smollm", "qwen2", ...).
    public var preTokenizer: String?
    public var tokens: [String]
    /// One per token; `normal` for all when empty.
    public var tokenTypes: [TokenType]
    /// SentencePiece scores, one per token (empty for BPE).
    public var scores: [Float]
    /// BPE merges, "left right" in the vocabulary's byte-level spelling, best first.
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    /// `tokenizer.ggml.eot_token_id` / `eom_token_id`, when present.
    public var extraEndOfTurnIDs: [Int32]
    public var unknownID: Int32?
    /// `tokenizer.ggml.add_bos_token`: whether the model expects a BOS at the start of a prompt.
    public var addBOSByDefault: Bool
    /// SentencePiece `tokenizer.ggml.add_space_prefix`: a "▁" before the first word.
    public var addSpacePrefix: Bool

    public init(model: String, preTokenizer: String? = nil, tokens: [String], tokenTypes: [TokenType] = [],
                scores: [Float] = [], merges: [String] = [], bosID: Int32? = nil, eosID: Int32? = nil,
                extraEndOfTurnIDs: [Int32] = [], unknownID: Int32? = nil, addBOSByDefault: Bool = false,
                addSpacePrefix: Bool = true) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.scores = scores
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.extraEndOfTurnIDs = extraEndOfTurnIDs
        self.unknownID = unknownID
        self.addBOSByDefault = addBOSByDefault
        self.addSpacePrefix = addSpacePrefix
    }

    /// The type of token `index` (`normal` when the vocabulary gives none).
    func type(_ index: Int) -> TokenType { index < tokenTypes.count ? tokenTypes[index] : .normal }

    /// Reads the `tokenizer.ggml.*` keys of a GGUF file.
    public init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        var types: [TokenType] = []
        if gguf.metadata["tokenizer.ggml.token_type"] != nil {
            types = try gguf.intArray("tokenizer.ggml.token_type").map { TokenType(rawValue: Int32(truncatingIfNeeded: $0)) ?? .undefined }
            guard types.count == tokens.count else {
                throw LLMError.invalidArgument(name: "tokenizer.ggml.token_type",
                                               reason: "\(types.count) entries for \(tokens.count) tokens")
            }
        }
        var scores: [Float] = []
        if gguf.metadata["tokenizer.ggml.scores"] != nil {
            scores = try gguf.floatArray("tokenizer.ggml.scores")
        }
        let merges = gguf.metadata["tokenizer.ggml.merges"] != nil ? try gguf.stringArray("tokenizer.ggml.merges") : []
        func id(_ key: String) throws -> Int32? {
            guard let value = try gguf.optionalInt(key) else { return nil }
            guard value >= 0, value < tokens.count else { return nil }
            return Int32(value)
        }
        self.init(model: model,
                  preTokenizer: try gguf.optionalString("tokenizer.ggml.pre"),
                  tokens: tokens, tokenTypes: types, scores: scores, merges: merges,
                  bosID: try id("tokenizer.ggml.bos_token_id"),
                  eosID: try id("tokenizer.ggml.eos_token_id"),
                  extraEndOfTurnIDs: [try id("tokenizer.ggml.eot_token_id"), try id("tokenizer.ggml.eom_token_id")].compactMap { $0 },
                  unknownID: try id("tokenizer.ggml.unknown_token_id"),
                  addBOSByDefault: try gguf.optionalBool("tokenizer.ggml.add_bos_token") ?? (model == "llama"),
                  addSpacePrefix: try gguf.optionalBool("tokenizer.ggml.add_space_prefix") ?? (model == "llama"))
    }

    /// Token texts that end a turn in the chat formats Hark knows, when they are control tokens.
    static let endOfTurnTexts: Set<String> = [
        "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    ]

    /// End-of-sequence, end-of-turn ids and control tokens spelled like an end of turn.
    func endOfTurnIDs() -> Set<Int32> {
        var ids = Set(extraEndOfTurnIDs)
        if let eosID { ids.insert(eosID) }
        for (index, text) in tokens.enumerated() where Self.endOfTurnTexts.contains(text) {
            let kind = type(index)
            if kind == .control || kind == .userDefined { ids.insert(Int32(index)) }
        }
        return ids
    }
}

/// Builds the tokenizer a vocabulary asks for, through a registry keyed by `tokenizer.ggml.model`.
public enum TokenizerFactory {
    /// `tokenizer.ggml.model` value -> constructor.
    public static let registry: [String: @Sendable (TokenizerVocabulary) throws -> any LLMTokenizer] = [
        "gpt2": { try ByteLevelBPETokenizer(vocabulary: $0) },
        "llama": { try SentencePieceTokenizer(vocabulary: $0) },
    ]

    /// The tokenizer for a vocabulary given as plain arrays.
    public static func make(vocabulary: TokenizerVocabulary) throws -> any LLMTokenizer {
        guard let make = registry[vocabulary.model] else {
            throw LLMError.invalidArgument(
                name: "tokenizer.ggml.model",
                reason: "'\(vocabulary.model)' is not supported (known: \(registry.keys.sorted().joined(separator: ", ")))")
        }
        return try make(vocabulary)
    }

    /// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
    public static func make(from gguf: GGUFFile) throws -> any LLMTokenizer {
        try make(vocabulary: TokenizerVocabulary(gguf: gguf))
    }
}
