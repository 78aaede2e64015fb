/// GPT-2's byte-level alphabet (Radford et al. 2019, `encoder.py` `bytes_to_unicode`): every byte
/// maps to one printable Unicode scalar, so BPE tokens are plain strings. Printable Latin-1
/// bytes map to themselves; the other 68 bytes map to U+0100 upwards in byte order.
enum ByteLevel {
    /// `scalarOfByte[b]` is the scalar standing for byte `b`.
    static let scalarOfByte: [Unicode.Scalar] = {
        var printable: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = [Unicode.Scalar](repeating: " ", count: 256)
        for b in printable { scalars[b] = Unicode.Scalar(UInt32(b))! }
        var next = 0
        for b in 0..<256 where !printable.contains(b) {
            scalars[b] = Unicode.Scalar(UInt32(256 + next))!
            next += 1
            printable.append(b)
        }
        return scalars
    }()

    /// The inverse: scalar value -> byte, for scalars of the alphabet.
    static let byteOfScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalarOfByte.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level string of some UTF-8 bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes { out.append(scalarOfByte[Int(b)]) }
        return String(out)
    }

    /// Appends the bytes a byte-level token string stands for; scalars outside the alphabet
    /// (never in a well-formed vocabulary) contribute their own UTF-8 bytes.
    static func appendBytes(of token: String, to bytes: inout [UInt8]) {
        for scalar in token.unicodeScalars {
            if let b = byteOfScalar[scalar.value] {
                bytes.append(b)
            } else {
                bytes.append(contentsOf: Array(String(scalar).utf8))
            }
        }
    }
}

/// GPT-2's pre-tokenizer, the regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// written out as a scanner over Unicode scalars (alternatives tried in the regex's order).
enum GPT2PreTokenizer {
    private enum Kind { case letter, number, space, other }

    private static func kind(_ s: Unicode.Scalar) -> Kind {
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The pieces of `text`, in order; their concatenation is `text`.
    static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let kinds = scalars.map(kind)
        let n = scalars.count
        var pieces: [String] = []
        var i = 0
        func emit(_ end: Int) {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[i..<end])
            pieces.append(String(view))
            i = end
        }
        while i < n {
            // 's 't 're 've 'm 'll 'd
            if scalars[i] == "'",
               let c = contractions.first(where: { i + 1 + $0.count <= n && Array(scalars[(i + 1)..<(i + 1 + $0.count)]) == $0 }) {
                emit(i + 1 + c.count)
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` (a space has kind .space, never the class)
            var matched = false
            for wanted in [Kind.letter, .number, .other] {
                var j: Int
                if scalars[i] == " " && i + 1 < n && kinds[i + 1] == wanted {
                    j = i + 1
                } else if kinds[i] == wanted {
                    j = i
                } else {
                    continue
                }
                while j < n && kinds[j] == wanted { j += 1 }
                emit(j)
                matched = true
                break
            }
            if matched { continue }
            // `\s+(?!\S)` then `\s+`
            var end = i
            while end < n && kinds[end] == .space { end += 1 }
            if end == n || end - i == 1 {
                emit(end)
            } else {
                emit(end - 1)
            }
        }
        return pieces
    }
}
