/// Cuts the special tokens out of a text before the rest is tokenized, the way llama.cpp does:
/// longest token text first, every occurrence in the still-unmatched text, left to right.
/// Control and unknown tokens are matched only when parsing special tokens; user-defined (added)
/// tokens always are.
struct SpecialTokenMatcher: Sendable {
    enum Fragment: Equatable {
        case text(String)
        case token(Int32)
    }

    private struct Special: Sendable {
        var id: Int32
        var bytes: [UInt8]
        var alwaysMatched: Bool
    }

    private let specials: [Special]

    init(tokens: [String], types: [TokenType]) {
        var list: [Special] = []
        for (index, text) in tokens.enumerated() where !text.isEmpty {
            switch types[index] {
            case .control, .unknown:
                list.append(Special(id: Int32(index), bytes: Array(text.utf8), alwaysMatched: false))
            case .userDefined:
                list.append(Special(id: Int32(index), bytes: Array(text.utf8), alwaysMatched: true))
            default:
                break
            }
        }
        // Longest first; equal lengths by id so the order never depends on the sort.
        specials = list.sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
    }

    /// Ids of the special tokens, in matching order (tests).
    var specialIDs: [Int32] { specials.map(\.id) }

    func split(_ text: String, parseSpecial: Bool) -> [Fragment] {
        guard !specials.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        let bytes = Array(text.utf8)
        enum Part { case raw(Range<Int>), token(Int32) }
        var parts: [Part] = [.raw(0..<bytes.count)]
        for special in specials where parseSpecial || special.alwaysMatched {
            let needle = special.bytes
            var updated: [Part] = []
            updated.reserveCapacity(parts.count)
            var changed = false
            for part in parts {
                guard case let .raw(range) = part, range.count >= needle.count else {
                    updated.append(part)
                    continue
                }
                var start = range.lowerBound
                var i = range.lowerBound
                let last = range.upperBound - needle.count
                while i <= last {
                    if bytes[i] == needle[0] && Self.matches(bytes, at: i, needle) {
                        if start < i { updated.append(.raw(start..<i)) }
                        updated.append(.token(special.id))
                        i += needle.count
                        start = i
                        changed = true
                    } else {
                        i += 1
                    }
                }
                if start < range.upperBound { updated.append(.raw(start..<range.upperBound)) }
            }
            if changed { parts = updated }
        }
        return parts.map {
            switch $0 {
            case let .raw(range): return .text(String(decoding: bytes[range], as: UTF8.self))
            case let .token(id): return .token(id)
            }
        }
    }

    @inline(__always)
    private static func matches(_ bytes: [UInt8], at offset: Int, _ needle: [UInt8]) -> Bool {
        for j in 1..<needle.count where bytes[offset + j] != needle[j] { return false }
        return true
    }
}
