import Foundation

/// The `config.json` CTranslate2 writes next to a Whisper `model.bin`.
public struct WhisperModelConfig: Sendable, Codable, Equatable {
    /// Token ids suppressed at every step when `suppress_tokens` is the default (-1).
    public var suppressIDs: [Int]
    /// Token ids suppressed at the first generated position (the blank and end of text).
    public var suppressIDsBegin: [Int]
    /// (decoder layer, head) pairs whose cross-attention follows the audio (word timestamps).
    public var alignmentHeads: [[Int]]
    /// Token ids of the language tokens (multilingual models).
    public var languageIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case suppressIDs = "suppress_ids", suppressIDsBegin = "suppress_ids_begin"
        case alignmentHeads = "alignment_heads", languageIDs = "lang_ids"
    }

    public init(suppressIDs: [Int] = [], suppressIDsBegin: [Int] = [], alignmentHeads: [[Int]] = [], languageIDs: [Int] = []) {
        self.suppressIDs = suppressIDs
        self.suppressIDsBegin = suppressIDsBegin
        self.alignmentHeads = alignmentHeads
        self.languageIDs = languageIDs
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        suppressIDs = try container.decodeIfPresent([Int].self, forKey: .suppressIDs) ?? []
        suppressIDsBegin = try container.decodeIfPresent([Int].self, forKey: .suppressIDsBegin) ?? []
        alignmentHeads = try container.decodeIfPresent([[Int]].self, forKey: .alignmentHeads) ?? []
        languageIDs = try container.decodeIfPresent([Int].self, forKey: .languageIDs) ?? []
    }

    /// Reads `url` (a `config.json`), with errors naming the file and the problem.
    public static func load(_ url: URL) throws -> WhisperModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ASRError.invalidModelConfig(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            let config = try JSONDecoder().decode(WhisperModelConfig.self, from: data)
            for head in config.alignmentHeads where head.count != 2 {
                throw ASRError.invalidModelConfig(path: url.path, reason: "alignment head \(head) is not a [layer, head] pair")
            }
            return config
        } catch let error as ASRError {
            throw error
        } catch {
            throw ASRError.invalidModelConfig(path: url.path, reason: "\(error)")
        }
    }
}
