/// SentencePiece-style tokenizer (`tokenizer.ggml.model = llama`): spaces become `▁`, adjacent
/// pieces merge highest vocabulary score first (Kudo & Richardson 2018, BPE mode), and characters
/// with no token fall back to byte tokens `<0xNN>`.
public struct SentencePieceTokenizer: LLMTokenizer {
    public let vocabularySize: Int
    public let bosID: Int32?
    public let eosID: Int32?
    public let endOfTurnIDs: Set<Int32>
    let addSpacePrefix: Bool
    let specials: SpecialTokenMatcher
    private let pieces: [[UInt8]]
    private let types: [TokenType]
    private let scores: [Float]
    /// Token text bytes (with `▁`) -> id, for normal and user-defined tokens.
    private let ids: [[UInt8]: Int32]
    /// `<0xNN>` token of each byte (or the unknown token, or -1).
    private let byteTokens: [Int32]

    static let spaceMarker = Array("▁".utf8)

    public init(vocabulary v: TokenizerVocabulary) throws {
        guard v.scores.isEmpty || v.scores.count == v.tokens.count else {
            throw LLMError.invalidArgument(name: "tokenizer.ggml.scores", reason: "\(v.scores.count) scores for \(v.tokens.count) tokens")
        }
        vocabularySize = v.tokens.count
        bosID = v.bosID
        eosID = v.eosID
        endOfTurnIDs = v.endOfTurnIDs()
        addSpacePrefix = v.addSpacePrefix
        scores = v.scores.isEmpty ? [Float](repeating: 0, count: v.tokens.count) : v.scores
        types = v.tokens.indices.map { v.type($0) }
        var ids: [[UInt8]: Int32] = [:]
        var byteTokens = [Int32](repeating: v.unknownID ?? -1, count: 256)
        var pieces: [[UInt8]] = []
        for (index, text) in v.tokens.enumerated() {
            let raw = Array(text.utf8)
            switch types[index] {
            case .byte:
                if raw.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">"), let value = UInt8(text.dropFirst(3).prefix(2), radix: 16) {
                    byteTokens[Int(value)] = Int32(index)
                    pieces.append([value])
                } else {
                    pieces.append(raw)
                }
            case .normal, .undefined, .userDefined:
                if ids[raw] == nil { ids[raw] = Int32(index) }
                pieces.append(Self.unescapeSpaces(raw))
            case .unknown:
                pieces.append(Array(" \u{2047} ".utf8))
            case .unused:
                pieces.append([])
            case .control:
                pieces.append(raw)
            }
        }
        self.ids = ids
        self.byteTokens = byteTokens
        self.pieces = pieces
        specials = SpecialTokenMatcher(tokens: v.tokens, types: types)
    }

    static func unescapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count && bytes[i] == 0xE2 && bytes[i + 1] == 0x96 && bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        if addBOS, let bosID { out.append(bosID) }
        var afterSpecial = true  // the first text gets the space prefix, as after a special token
        for fragment in specials.split(text, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                out.append(id)
                afterSpecial = true
            case let .text(piece):
                var bytes: [UInt8] = []
                if addSpacePrefix && afterSpecial { bytes.append(contentsOf: Self.spaceMarker) }
                for b in piece.utf8 {
                    if b == 0x20 { bytes.append(contentsOf: Self.spaceMarker) } else { bytes.append(b) }
                }
                encodeEscaped(bytes, into: &out)
                afterSpecial = false
            }
        }
        return out
    }

    /// Merges the characters of `bytes` (spaces already `▁`) by score.
    private func encodeEscaped(_ bytes: [UInt8], into out: inout [Int32]) {
        // One symbol per UTF-8 character: start offset and length.
        var start: [Int] = []
        var length: [Int] = []
        var i = 0
        while i < bytes.count {
            let lead = bytes[i]
            let n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            let len = min(n, bytes.count - i)
            start.append(i)
            length.append(len)
            i += len
        }
        let count = start.count
        guard count > 0 else { return }
        var prev = Array(-1..<(count - 1))
        var next = Array(1...count)
        next[count - 1] = -1
        var heap = PairHeap()
        func consider(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right >= 0 else { return }
            let merged = Array(bytes[start[left]..<(start[right] + length[right])])
            guard let id = ids[merged] else { return }
            heap.push(PairHeap.Entry(rank: ~Self.orderKey(scores[Int(id)]), left: Int32(left), right: Int32(right),
                                     leftSymbol: Int32(length[left]), rightSymbol: Int32(length[right]), merged: id))
        }
        for k in 0..<(count - 1) { consider(k) }
        while let top = heap.pop() {
            let l = Int(top.left), r = Int(top.right)
            guard length[l] == Int(top.leftSymbol), length[r] == Int(top.rightSymbol), next[l] == r else { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            next[r] = -1
            consider(prev[l])
            consider(l)
        }
        var k = 0
        while k >= 0 {
            let symbol = Array(bytes[start[k]..<(start[k] + length[k])])
            if let id = ids[symbol] {
                out.append(id)
            } else {
                for b in symbol where byteTokens[Int(b)] >= 0 { out.append(byteTokens[Int(b)]) }
            }
            k = next[k]
        }
    }

    /// Maps a float to an unsigned key with the same order.
    static func orderKey(_ f: Float) -> UInt32 {
        let bits = f.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    public func piece(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < pieces.count else { return [] }
        return pieces[Int(id)]
    }

    /// The text of `ids`; the space the encoder put before the first word is removed again.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        var stripLeadingSpace = addSpacePrefix
        for id in ids {
            var p = piece(id)
            if stripLeadingSpace, id >= 0, Int(id) < types.count, types[Int(id)] != .control {
                if p.first == 0x20 { p.removeFirst() }
                stripLeadingSpace = false
            }
            bytes.append(contentsOf: p)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
