import Foundation

/// Reads what the Whisper tokenizer needs from a Hugging Face `tokenizer.json`: the BPE merges
/// (`model.merges`, as "a b" strings or ["a", "b"] pairs) and, on request, the added tokens.
///
/// The merges are found with a small scanner rather than a full JSON parse: the file is 2.4 MB,
/// mostly the vocabulary we already have from `vocabulary.txt`, and Foundation's parser takes
/// ~0.15 s on it, which every `hark transcribe` would pay at start-up.
enum TokenizerJSON {
    /// "left right" -> rank, in file order (first occurrence wins).
    static func mergeRanks(_ data: Data, path: String) throws -> [String: Int] {
        try data.withUnsafeBytes { raw -> [String: Int] in
            var scanner = Scanner(bytes: raw.bindMemory(to: UInt8.self), path: path)
            try scanner.seek(toKey: "model")
            try scanner.seek(toKey: "merges")
            try scanner.expect(UInt8(ascii: ":"))
            try scanner.expect(UInt8(ascii: "["))
            var ranks: [String: Int] = [:]
            ranks.reserveCapacity(50_000)
            var rank = 0
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "]") { return ranks }
            while true {
                scanner.skipWhitespace()
                let key: String
                if scanner.peek == UInt8(ascii: "[") {
                    scanner.advance()
                    let left = try scanner.string()
                    try scanner.expect(UInt8(ascii: ","))
                    let right = try scanner.string()
                    try scanner.expect(UInt8(ascii: "]"))
                    key = left + " " + right
                } else {
                    key = try scanner.string()
                }
                if ranks[key] == nil { ranks[key] = rank }
                rank += 1
                scanner.skipWhitespace()
                if scanner.peek == UInt8(ascii: ",") { scanner.advance(); continue }
                try scanner.expect(UInt8(ascii: "]"))
                return ranks
            }
        }
    }

    /// Added tokens (content -> id), with a full JSON parse: only used when `vocabulary.txt`
    /// lacks a special token.
    static func addedTokens(_ data: Data, path: String) throws -> [String: Int] {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ASRError.malformedTokenizerFile(path: path, line: nil, reason: "not a JSON object")
        }
        var added: [String: Int] = [:]
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = entry["content"] as? String, let id = entry["id"] as? Int { added[content] = id }
        }
        return added
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let path: String
        var offset = 0

        init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
            self.bytes = bytes
            self.path = path
        }

        var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }
        mutating func advance() { offset += 1 }

        func error(_ reason: String) -> ASRError {
            .malformedTokenizerFile(path: path, line: nil, reason: "\(reason) at byte \(offset)")
        }

        mutating func skipWhitespace() {
            while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { offset += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            skipWhitespace()
            guard peek == c else { throw error("expected '\(Character(Unicode.Scalar(c)))'") }
            offset += 1
        }

        /// Moves past the next occurrence of `"key"` followed by optional whitespace and ':'
        /// (leaves the offset before the ':').
        mutating func seek(toKey key: String) throws {
            let needle = Array(("\"" + key + "\"").utf8)
            var i = offset
            while i + needle.count <= bytes.count {
                if bytes[i] == needle[0] {
                    var match = true
                    for j in 1..<needle.count where bytes[i + j] != needle[j] { match = false; break }
                    if match {
                        var k = i + needle.count
                        while k < bytes.count, bytes[k] == 0x20 || bytes[k] == 0x0A || bytes[k] == 0x0D || bytes[k] == 0x09 { k += 1 }
                        if k < bytes.count, bytes[k] == UInt8(ascii: ":") {
                            offset = i + needle.count
                            return
                        }
                    }
                }
                i += 1
            }
            throw error("no \"\(key)\" key")
        }

        /// A JSON string (escapes decoded).
        mutating func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw error("unterminated string") }
                offset += 1
                if c == UInt8(ascii: "\"") { break }
                if c != UInt8(ascii: "\\") { out.append(c); continue }
                guard let e = peek else { throw error("unterminated escape") }
                offset += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard peek == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                            throw error("lone surrogate")
                        }
                        offset += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("bad surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("bad \\u escape") }
                    out.append(contentsOf: Array(String(u).utf8))
                default:
                    throw error("bad escape")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not UTF-8") }
            return s
        }

        mutating func hex4() throws -> UInt32 {
            guard offset + 4 <= bytes.count else { throw error("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[offset]
                offset += 1
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("bad hex digit in \\u escape")
                }
                v = v * 16 + d
            }
            return v
        }
    }
}
