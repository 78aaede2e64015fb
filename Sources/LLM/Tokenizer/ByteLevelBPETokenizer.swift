import Foundation

/// Byte-level BPE (GPT-2 style, `tokenizer.ggml.model = gpt2`): special tokens are cut out first,
/// the rest is split into words by the `tokenizer.ggml.pre` pre-tokenizer, and each word's bytes
/// are merged pairwise, lowest merge rank first (Sennrich et al. 2016; Radford et al. 2019).
///
/// Immutable after `init`; the word cache is internally locked, so one instance serves all tasks.
public final class ByteLevelBPETokenizer: LLMTokenizer, @unchecked Sendable {
    public let vocabularySize: Int
    public let bosID: Int32?
    public let eosID: Int32?
    public let endOfTurnIDs: Set<Int32>
    let preTokenizer: PreTokenizer
    let specials: SpecialTokenMatcher
    /// Bytes of each token: byte-level spelling undone for normal tokens, raw text for the others.
    private let pieces: [[UInt8]]
    /// Symbol (token or intermediate merge result) bytes -> symbol id; tokens keep their ids.
    private let symbolIDs: [[UInt8]: Int32]
    /// (left symbol << 32 | right symbol) -> (rank << 32 | merged symbol).
    private let merges: [UInt64: UInt64]
    /// Symbol id of each single byte.
    private let byteSymbols: [Int32]
    private let cache = WordCache()

    /// Builds the tokenizer from plain arrays (see `TokenizerVocabulary.init(gguf:)`).
    public init(vocabulary v: TokenizerVocabulary) throws {
        let preName = v.preTokenizer ?? "default"
        guard let pre = PreTokenizer.byName[preName] else {
            throw LLMError.invalidArgument(
                name: "tokenizer.ggml.pre",
                reason: "pre-tokenizer '\(preName)' is not supported (known: \(PreTokenizer.byName.keys.sorted().joined(separator: ", ")))")
        }
        preTokenizer = pre
        vocabularySize = v.tokens.count
        bosID = v.bosID
        eosID = v.eosID
        endOfTurnIDs = v.endOfTurnIDs()

        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(v.tokens.count)
        var symbolIDs: [[UInt8]: Int32] = [:]
        symbolIDs.reserveCapacity(v.tokens.count + v.merges.count / 8)
        for (index, text) in v.tokens.enumerated() {
            let kind = v.type(index)
            let bytes: [UInt8]
            switch kind {
            case .normal, .undefined, .byte:
                bytes = ByteLevelAlphabet.decode(text) ?? Array(text.utf8)
            case .unused:
                bytes = []
            default:
                bytes = Array(text.utf8)
            }
            pieces.append(bytes)
            if kind == .normal || kind == .undefined || kind == .byte { symbolIDs[bytes] = Int32(index) }
        }
        var byteSymbols = [Int32](repeating: -1, count: 256)
        var nextSymbol = Int32(v.tokens.count)
        func intern(_ bytes: [UInt8]) -> Int32 {
            if let id = symbolIDs[bytes] { return id }
            symbolIDs[bytes] = nextSymbol
            nextSymbol += 1
            return nextSymbol - 1
        }
        for b in 0..<256 { byteSymbols[b] = intern([UInt8(b)]) }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(v.merges.count)
        for (rank, merge) in v.merges.enumerated() {
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2,
                  let left = ByteLevelAlphabet.decode(String(parts[0])),
                  let right = ByteLevelAlphabet.decode(String(parts[1])), !left.isEmpty, !right.isEmpty else {
                throw LLMError.invalidArgument(name: "tokenizer.ggml.merges", reason: "merge \(rank) '\(merge)' is not two byte-level symbols")
            }
            let l = intern(left), r = intern(right), m = intern(left + right)
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(m)) }
        }
        self.pieces = pieces
        self.symbolIDs = symbolIDs
        self.merges = merges
        self.byteSymbols = byteSymbols
        specials = SpecialTokenMatcher(tokens: v.tokens, types: v.tokens.indices.map { v.type($0) })
    }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        if addBOS, let bosID { out.append(bosID) }
        for fragment in specials.split(text, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                out.append(id)
            case let .text(piece):
                encodeText(piece, into: &out)
            }
        }
        return out
    }

    private func encodeText(_ text: String, into out: inout [Int32]) {
        let scalars = Array(text.unicodeScalars)
        var utf8Offsets = [Int](repeating: 0, count: scalars.count + 1)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count)
        for (i, scalar) in scalars.enumerated() {
            utf8Offsets[i] = bytes.count
            UTF8.encode(scalar) { bytes.append($0) }
        }
        utf8Offsets[scalars.count] = bytes.count
        for word in preTokenizer.split(scalars) {
            let wordBytes = bytes[utf8Offsets[word.lowerBound]..<utf8Offsets[word.upperBound]]
            if let cached = cache.get(wordBytes) {
                out.append(contentsOf: cached)
                continue
            }
            let ids = bpe(wordBytes)
            cache.set(wordBytes, ids)
            out.append(contentsOf: ids)
        }
    }

    /// Merges one word's bytes: a min-heap of candidate pairs ordered by (rank, position), with
    /// stale entries skipped when popped, over a doubly linked list of symbols.
    func bpe(_ word: ArraySlice<UInt8>) -> [Int32] {
        let n = word.count
        if n == 0 { return [] }
        if n == 1 {
            let only = byteSymbols[Int(word[word.startIndex])]
            return only < Int32(vocabularySize) ? [only] : []
        }
        var symbol = word.map { byteSymbols[Int($0)] }
        var prev = Array(-1..<(n - 1))
        var next = Array(1...n)
        next[n - 1] = -1
        var heap = PairHeap()
        func consider(_ left: Int) {
            let right = next[left]
            guard right >= 0 else { return }
            let key = UInt64(UInt32(symbol[left])) << 32 | UInt64(UInt32(symbol[right]))
            guard let merge = merges[key] else { return }
            heap.push(PairHeap.Entry(rank: UInt32(merge >> 32), left: Int32(left), right: Int32(right),
                                     leftSymbol: symbol[left], rightSymbol: symbol[right],
                                     merged: Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)))
        }
        for i in 0..<(n - 1) { consider(i) }
        while let top = heap.pop() {
            let l = Int(top.left), r = Int(top.right)
            guard symbol[l] == top.leftSymbol, symbol[r] == top.rightSymbol, next[l] == r else { continue }
            symbol[l] = top.merged
            symbol[r] = -1
            let after = next[r]
            next[l] = after
            if after >= 0 { prev[after] = l }
            next[r] = -1
            if prev[l] >= 0 { consider(prev[l]) }
            consider(l)
        }
        var ids: [Int32] = []
        var i = 0
        while i >= 0 {
            let s = symbol[i]
            if s >= 0 && s < Int32(vocabularySize) {
                ids.append(s)
            } else {
                // A merge result that is not a token: fall back to its single bytes.
                let end = next[i] < 0 ? n : next[i]
                for b in word[(word.startIndex + i)..<(word.startIndex + end)] {
                    let byteSymbol = byteSymbols[Int(b)]
                    if byteSymbol < Int32(vocabularySize) { ids.append(byteSymbol) }
                }
            }
            i = next[i]
        }
        return ids
    }

    public func piece(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < pieces.count else { return [] }
        return pieces[Int(id)]
    }

    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: piece(id)) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A binary min-heap of merge candidates ordered by rank, then by left position.
struct PairHeap {
    struct Entry {
        var rank: UInt32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32
        var merged: Int32
        @inline(__always) func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }
    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && items[l].precedes(items[best]) { best = l }
                if r < items.count && items[r].precedes(items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return first
    }
}

/// Word bytes -> token ids, bounded; cleared when full (pre-tokenized words repeat a lot).
final class WordCache: @unchecked Sendable {
    private var entries: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()
    private let capacity = 65_536

    func get(_ word: ArraySlice<UInt8>) -> [Int32]? {
        lock.lock(); defer { lock.unlock() }
        return entries[Array(word)]
    }

    func set(_ word: ArraySlice<UInt8>, _ ids: [Int32]) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[Array(word)] = ids
    }
}

/// GPT-2's reversible map of the 256 byte values onto printable characters, in which byte-level
/// BPE vocabularies and merges are spelled (`Ġ` is the space byte, `Ċ` the newline).
enum ByteLevelAlphabet {
    /// Scalar value -> byte.
    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        var shifted: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                map[UInt32(b)] = UInt8(b)
            } else {
                map[shifted] = UInt8(b)
                shifted += 1
            }
        }
        return map
    }()

    /// The bytes a byte-level spelling stands for; nil if a character is outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let b = scalarToByte[scalar.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
