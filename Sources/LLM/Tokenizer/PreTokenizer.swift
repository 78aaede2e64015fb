/// Splits text into the words byte-level BPE merges within, following the regular expressions
/// llama.cpp lists per `tokenizer.ggml.pre` (llama-vocab.cpp). Each pattern is a hand-written
/// scanner over Unicode scalars (Swift `Regex` is far slower), with llama.cpp's character classes:
/// `\p{L}` letters, `\p{N}` numbers, `\s` the Unicode White_Space set.
enum PreTokenizer: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2).
    case gpt2
    /// Every `\p{N}` split off alone first, then the GPT-2 pattern (`smollm`, `codeshell`, ...).
    case digitsThenGPT2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:
    /// Qwen2 with single digits, Llama-3 with runs of up to three.
    case llama3Style(maxDigits: Int)

    /// `tokenizer.ggml.pre` names this module implements.
    static let byName: [String: PreTokenizer] = [
        "gpt-2": .gpt2, "gpt2": .gpt2, "default": .gpt2,
        "smollm": .digitsThenGPT2, "codeshell": .digitsThenGPT2,
        "qwen2": .llama3Style(maxDigits: 1),
        "llama3": .llama3Style(maxDigits: 3), "llama-bpe": .llama3Style(maxDigits: 3),
        "llama-v3": .llama3Style(maxDigits: 3), "smaug-bpe": .llama3Style(maxDigits: 3),
    ]

    /// Word boundaries of `scalars` as scalar index ranges, in order, covering every scalar.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        words.reserveCapacity(scalars.count / 3 + 1)
        let classes = scalars.map(CharacterClass.init)
        switch self {
        case .gpt2:
            Self.gpt2(scalars, classes, 0..<scalars.count, into: &words)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<scalars.count where classes[i] == .number {
                if start < i { Self.gpt2(scalars, classes, start..<i, into: &words) }
                words.append(i..<(i + 1))
                start = i + 1
            }
            if start < scalars.count { Self.gpt2(scalars, classes, start..<scalars.count, into: &words) }
        case let .llama3Style(maxDigits):
            Self.llama3(scalars, classes, maxDigits: maxDigits, into: &words)
        }
        return words
    }

    /// Length of a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at `pos`, or 0.
    private static func contraction(_ s: [Unicode.Scalar], at pos: Int, end: Int, caseInsensitive: Bool) -> Int {
        guard s[pos] == "'", pos + 1 < end else { return 0 }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c
        }
        let next = lower(s[pos + 1])
        if next == "s" || next == "t" || next == "m" || next == "d" { return 2 }
        guard pos + 2 < end else { return 0 }
        let after = lower(s[pos + 2])
        if (next == "r" && after == "e") || (next == "v" && after == "e") || (next == "l" && after == "l") { return 3 }
        return 0
    }

    private static func gpt2(_ s: [Unicode.Scalar], _ cls: [CharacterClass], _ range: Range<Int>, into words: inout [Range<Int>]) {
        let end = range.upperBound
        func cls2(_ i: Int) -> CharacterClass { i < end ? cls[i] : .outOfRange }
        var pos = range.lowerBound
        while pos < end {
            let start = pos
            let n = contraction(s, at: pos, end: end, caseInsensitive: false)
            if n > 0 {
                pos += n
                words.append(start..<pos)
                continue
            }
            let isSpace = s[pos] == " "
            let lead = isSpace ? cls2(pos + 1) : cls[pos]
            switch lead {
            case .letter, .number:
                if isSpace { pos += 1 }
                while cls2(pos) == lead { pos += 1 }
                words.append(start..<pos)
                continue
            case .other:
                if isSpace { pos += 1 }
                while cls2(pos) == .other { pos += 1 }
                words.append(start..<pos)
                continue
            case .whitespace, .outOfRange:
                break
            }
            var spaces = 0
            while cls2(pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1  // \s+(?!\S): leave the last space to lead the next word
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            words.append(start..<pos)
        }
    }

    private static func llama3(_ s: [Unicode.Scalar], _ cls: [CharacterClass], maxDigits: Int, into words: inout [Range<Int>]) {
        let end = s.count
        func cls2(_ i: Int) -> CharacterClass { i < end ? cls[i] : .outOfRange }
        func isNewline(_ i: Int) -> Bool { i < end && (s[i] == "\r" || s[i] == "\n") }
        var pos = 0
        while pos < end {
            let start = pos
            let n = contraction(s, at: pos, end: end, caseInsensitive: true)
            if n > 0 {
                pos += n
                words.append(start..<pos)
                continue
            }
            let here = cls[pos]
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isNewline(pos) && here != .number && (here == .letter || cls2(pos + 1) == .letter) {
                pos += 1
                while cls2(pos) == .letter { pos += 1 }
                words.append(start..<pos)
                continue
            }
            // \p{N}{1,maxDigits}
            if here == .number {
                pos += 1
                while pos - start < maxDigits && cls2(pos) == .number { pos += 1 }
                words.append(start..<pos)
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let lead = s[pos] == " " ? cls2(pos + 1) : here
            if lead == .other {
                if s[pos] == " " { pos += 1 }
                while cls2(pos) == .other { pos += 1 }
                while isNewline(pos) { pos += 1 }
                words.append(start..<pos)
                continue
            }
            var spaces = 0
            var afterLastNewline = 0
            while cls2(pos + spaces) == .whitespace {
                if isNewline(pos + spaces) { afterLastNewline = pos + spaces + 1 }
                spaces += 1
            }
            if afterLastNewline > 0 {
                pos = afterLastNewline          // \s*[\r\n]+
            } else if spaces > 1 && pos + spaces < end {
                pos += spaces - 1               // \s+(?!\S)
            } else if spaces > 0 {
                pos += spaces                   // \s+
            } else {
                pos += 1
            }
            words.append(start..<pos)
        }
    }
}

/// The classes the pre-tokenizer patterns distinguish.
enum CharacterClass: UInt8, Sendable {
    case letter, number, whitespace, other, outOfRange

    init(_ scalar: Unicode.Scalar) {
        let v = scalar.value
        if v < 128 {
            self = CharacterClass.ascii[Int(v)]
            return
        }
        let props = scalar.properties
        if props.isWhitespace {
            self = .whitespace
            return
        }
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }

    private static let ascii: [CharacterClass] = (0..<128).map { v -> CharacterClass in
        switch v {
        case 0x09...0x0D, 0x20: return .whitespace
        case 0x30...0x39: return .number
        case 0x41...0x5A, 0x61...0x7A: return .letter
        default: return .other
        }
    }
}
