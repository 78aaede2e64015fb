import Foundation

/// Whisper's tokenizer: GPT-2 byte-level BPE plus Whisper's special tokens, read from a
/// CTranslate2 model folder (`vocabulary.txt`: one byte-level token string per line, id = line
/// index; `tokenizer.json`: the BPE merges, needed only for `encode`).
///
/// ```swift
/// let tokenizer = try WhisperTokenizer(modelDirectory: URL(fileURLWithPath: "models/whisper-tiny.en"))
/// let prompt = [tokenizer.sot] + (tokenizer.isMultilingual ? [tokenizer.languages["en"]!, tokenizer.transcribe] : [])
///     + [tokenizer.noTimestamps]
/// let text = tokenizer.decode(generatedIds)          // special tokens skipped
/// let promptIds = tokenizer.encode(" " + "Hark, ALSA") // for --prompt
/// ```
/// Immutable and `Sendable`: share one instance.
public struct WhisperTokenizer: Sendable {
    /// Token strings by id (byte-level alphabet for text tokens, `<|...|>` for special ones).
    public let tokens: [String]
    private let idOfToken: [String: Int]
    /// BPE merge rank of the pair "left right" (lower merges first); empty if the folder has no
    /// `tokenizer.json` (then `encode` returns []).
    private let mergeRanks: [String: Int]

    /// `<|endoftext|>`: end of the transcript; also the first special id (ids below are text).
    public let eot: Int
    /// `<|startoftranscript|>`.
    public let sot: Int
    /// `<|transcribe|>` and `<|translate|>` (task tokens).
    public let transcribe: Int
    public let translate: Int
    /// `<|startoflm|>`.
    public let startOfLM: Int
    /// `<|startofprev|>`: precedes the previous-window text (prompt).
    public let startOfPrev: Int
    /// `<|nospeech|>` or, in older vocabularies, `<|nocaptions|>`: its probability after sot is
    /// the no-speech probability.
    public let noSpeech: Int
    /// `<|notimestamps|>`.
    public let noTimestamps: Int
    /// `<|0.00|>`; timestamp token `timestampBegin + k` stands for `k * 0.02` seconds.
    public let timestampBegin: Int
    /// Language code ("en", "de", ...) to its token id (`<|en|>` ...), in vocabulary order.
    public let languages: [String: Int]
    /// Language codes in id order (the order of the model's language-detection logits).
    public let languageCodes: [String]

    /// Seconds per timestamp token step.
    public static let secondsPerTimestamp = 0.02
    /// Vocabulary size of the multilingual models (English-only ones have 51864).
    public static let multilingualVocabularySize = 51865

    /// Number of token ids (the decoder's output size).
    public var vocabularySize: Int { tokens.count }
    /// Multilingual models (51865 tokens or more) take a language and a task token after sot.
    public var isMultilingual: Bool { vocabularySize >= Self.multilingualVocabularySize }

    /// Reads `vocabulary.txt` and, if present, `tokenizer.json` from `modelDirectory`.
    /// - Throws: `ASRError.fileUnreadable`, `.malformedTokenizerFile`, `.missingSpecialToken`.
    public init(modelDirectory: URL) throws {
        let vocabURL = modelDirectory.appendingPathComponent("vocabulary.txt")
        var lines = try Self.readText(vocabURL).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        if lines.isEmpty {
            throw ASRError.malformedTokenizerFile(path: vocabURL.path, line: nil, reason: "the vocabulary is empty")
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(lines.count + 1600)
        for (id, token) in lines.enumerated() where index[token] == nil { index[token] = id }

        var merges: [String: Int] = [:]
        let jsonURL = modelDirectory.appendingPathComponent("tokenizer.json")
        var json: Data? = nil
        if FileManager.default.fileExists(atPath: jsonURL.path) {
            let data = try Self.readData(jsonURL)
            merges = try TokenizerJSON.mergeRanks(data, path: jsonURL.path)
            json = data
        }
        var addedTokens: [String: Int]? = nil
        func special(_ names: String...) throws -> Int {
            for name in names {
                if let id = index[name] { return id }
            }
            // Not in vocabulary.txt: look at tokenizer.json's added tokens (parsed only then).
            if addedTokens == nil, let json { addedTokens = try TokenizerJSON.addedTokens(json, path: jsonURL.path) }
            for name in names {
                if let id = addedTokens?[name] { return id }
            }
            throw ASRError.missingSpecialToken(name: names.joined(separator: " or "), path: vocabURL.path)
        }
        eot = try special("<|endoftext|>")
        sot = try special("<|startoftranscript|>")
        translate = try special("<|translate|>")
        transcribe = try special("<|transcribe|>")
        startOfLM = try special("<|startoflm|>")
        startOfPrev = try special("<|startofprev|>")
        noSpeech = try special("<|nospeech|>", "<|nocaptions|>")
        noTimestamps = try special("<|notimestamps|>")
        timestampBegin = noTimestamps + 1

        // Timestamp tokens follow <|notimestamps|>; vocabularies written without them get them
        // by id, as Whisper's tokenizer defines them.
        let timestampCount = 1501  // <|0.00|> ... <|30.00|>
        for k in 0..<timestampCount {
            let id = timestampBegin + k
            let name = String(format: "<|%.2f|>", Double(k) * Self.secondsPerTimestamp)
            if id < lines.count {
                if lines[id] != name {
                    throw ASRError.malformedTokenizerFile(path: vocabURL.path, line: id + 1,
                        reason: "expected timestamp token \(name) after <|notimestamps|>, found \(lines[id])")
                }
            } else {
                lines.append(name)
                index[name] = id
            }
        }

        // Language tokens sit between <|startoftranscript|> and <|translate|>.
        var languages: [String: Int] = [:]
        var codes: [String] = []
        if sot + 1 < translate {
            for id in (sot + 1)..<translate {
                let token = lines[id]
                guard token.hasPrefix("<|"), token.hasSuffix("|>"), token.count > 4 else { continue }
                let code = String(token.dropFirst(2).dropLast(2))
                languages[code] = id
                codes.append(code)
            }
        }
        self.languages = languages
        self.languageCodes = codes
        self.tokens = lines
        self.idOfToken = index
        self.mergeRanks = merges
    }

    /// Whether `id` is a timestamp token (`<|0.00|>` ... `<|30.00|>`).
    public func isTimestamp(_ id: Int) -> Bool { id >= timestampBegin && id < tokens.count }

    /// Whether `id` is a special token (everything from `<|endoftext|>` on, timestamps included).
    public func isSpecial(_ id: Int) -> Bool { id >= eot }

    /// The time in seconds of a timestamp token, or nil for other tokens.
    public func timestampSeconds(_ id: Int) -> Double? {
        isTimestamp(id) ? Double(id - timestampBegin) * Self.secondsPerTimestamp : nil
    }

    /// The id of a token string (`"<|en|>"`, `"Ġthe"`), if it is in the vocabulary.
    public func id(of token: String) -> Int? { idOfToken[token] }

    /// The start-of-transcript sequence Whisper's decoder is prompted with:
    /// `sot [language task] [notimestamps]` (language and task only for multilingual models).
    /// - Returns: nil if `language` is not a language of this vocabulary.
    public func startSequence(language: String = "en", translate: Bool = false, timestamps: Bool = false) -> [Int]? {
        var ids = [sot]
        if isMultilingual {
            guard let lang = languages[language] else { return nil }
            ids += [lang, translate ? self.translate : transcribe]
        }
        if !timestamps { ids.append(noTimestamps) }
        return ids
    }

    /// The text of `ids`. Text tokens are turned back into bytes and decoded as one UTF-8
    /// sequence, so characters split across tokens come out whole; invalid UTF-8 becomes U+FFFD.
    /// With `skipSpecial` false, special tokens are written as their names (`<|0.00|>`).
    /// Ids outside the vocabulary are skipped.
    public func decode(_ ids: [Int], skipSpecial: Bool = true) -> String {
        var text = ""
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            if id >= eot {
                if skipSpecial { continue }
                text += String(decoding: bytes, as: UTF8.self)
                bytes.removeAll(keepingCapacity: true)
                text += tokens[id]
            } else {
                ByteLevel.appendBytes(of: tokens[id], to: &bytes)
            }
        }
        text += String(decoding: bytes, as: UTF8.self)
        return text
    }

    /// Token ids of `text` (byte-level BPE with the GPT-2 pre-tokenizer, no special tokens), as
    /// Hugging Face `tokenizers` encodes it with `add_special_tokens=False`. Whisper prompts are
    /// encoded with a leading space: `encode(" " + prompt)`. Returns [] when the model folder
    /// had no `tokenizer.json` (no merges).
    public func encode(_ text: String) -> [Int] {
        guard !mergeRanks.isEmpty else { return [] }
        var ids: [Int] = []
        for piece in GPT2PreTokenizer.split(text) {
            for symbol in bpe(ByteLevel.encode(piece.utf8)) {
                if let id = idOfToken[symbol] {
                    ids.append(id)
                } else {
                    // Every single byte is in the vocabulary; fall back to bytes.
                    for scalar in symbol.unicodeScalars {
                        if let id = idOfToken[String(scalar)] { ids.append(id) }
                    }
                }
            }
        }
        return ids
    }

    /// Byte-pair merging of one pre-tokenized piece (Sennrich et al. 2016): repeatedly merge the
    /// adjacent pair with the lowest merge rank.
    private func bpe(_ word: String) -> [String] {
        var symbols = word.unicodeScalars.map { String($0) }
        guard symbols.count > 1 else { return symbols }
        while symbols.count > 1 {
            var best = Int.max, bestAt = -1
            for i in 0..<(symbols.count - 1) {
                if let rank = mergeRanks[symbols[i] + " " + symbols[i + 1]], rank < best {
                    best = rank
                    bestAt = i
                }
            }
            if bestAt < 0 { break }
            let left = symbols[bestAt], right = symbols[bestAt + 1]
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i < symbols.count - 1 && symbols[i] == left && symbols[i + 1] == right {
                    merged.append(left + right)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }

    private static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ASRError.fileUnreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    private static func readText(_ url: URL) throws -> String {
        guard let text = String(data: try readData(url), encoding: .utf8) else {
            throw ASRError.fileUnreadable(path: url.path, reason: "not valid UTF-8")
        }
        return text
    }
}
