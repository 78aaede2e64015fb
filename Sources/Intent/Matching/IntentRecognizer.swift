import Foundation

/// An intent recognised in an utterance.
public struct ParsedIntent: Sendable, Codable, Equatable {
    /// Intent name, e.g. "SetTimer".
    public var name: String
    /// Filled slots by slot name.
    public var slots: [String: SlotValue]
    /// 0...1: one minus the edit cost of the best template path over that path's length.
    public var confidence: Double
    /// The utterance as given.
    public var text: String

    public init(name: String, slots: [String: SlotValue], confidence: Double, text: String) {
        self.name = name; self.slots = slots; self.confidence = confidence; self.text = text
    }

    enum CodingKeys: String, CodingKey { case name = "intent", slots, confidence, text }
}

/// The outcome of recognition: an accepted intent, or a rejection with the best candidate
/// that scored below the threshold (for `--verbose` and for tuning).
public enum IntentMatchResult: Sendable, Equatable {
    case matched(ParsedIntent)
    case rejected(bestCandidate: ParsedIntent?)

    /// The accepted intent, if any.
    public var intent: ParsedIntent? {
        if case let .matched(p) = self { return p }
        return nil
    }
    /// The best candidate whether accepted or not.
    public var best: ParsedIntent? {
        switch self {
        case let .matched(p): return p
        case let .rejected(p): return p
        }
    }
}

/// Options for `IntentRecognizer`; every field has a default.
public struct RecognizerOptions: Sendable, Codable, Equatable {
    /// Minimum confidence to accept an intent; below it the utterance is rejected.
    public var threshold: Double = 0.75
    /// Cost of an input word the template does not have.
    public var insertionCost: Double = 1.0
    /// Cost of a template word missing from the input.
    public var deletionCost: Double = 1.2
    /// Insertion and deletion cost of function words ("a", "the", "to"...): recognizers drop
    /// and add them often, and they carry little meaning.
    public var functionWordCost: Double = 0.6
    /// Cost of replacing a template word by an unrelated input word.
    public var substitutionCost: Double = 1.5
    /// Words per utterance considered; longer inputs are rejected.
    public var maxWords: Int = 48
    /// Cost per word of a free-text slot, so typed slots win when both fit.
    public var freeTextWordCost: Double = 0.02

    public init() {}
    public static let `default` = RecognizerOptions()
}

/// Matches text against an `IntentSet` with scored fuzzy template matching.
///
/// Each template is a small acyclic word graph; a dynamic program aligns the normalised input
/// with it, charging for inserted, deleted and substituted words (a substitution of a similar
/// sounding or spelled word costs little, see `WordSimilarity`), letting slots take spans whose
/// words parse as their type. The best path over all templates wins, ties broken by cost, then
/// template words matched, then file order. Thread-safe: immutable after init.
public struct IntentRecognizer: Sendable {
    public let intents: IntentSet
    public let options: RecognizerOptions
    let normalizer = Normalizer()

    public init(intents: IntentSet, options: RecognizerOptions = .default) {
        self.intents = intents
        self.options = options
    }

    /// The best intent for `text`, or a rejection carrying the best candidate.
    public func recognize(_ text: String) -> IntentMatchResult {
        let tokens = normalizer.tokens(text)
        guard !tokens.isEmpty, tokens.count <= options.maxWords else { return .rejected(bestCandidate: nil) }
        var scratch = Scratch(tokens: tokens, options: options)
        var best: (score: Candidate, parsed: ParsedIntent)? = nil
        for (intentIndex, definition) in intents.intents.enumerated() {
            for (templateIndex, template) in definition.templates.enumerated() {
                guard let path = scratch.align(template) else { continue }
                let confidence = max(0, 1 - path.cost / Double(max(path.norm, 1)))
                let score = Candidate(confidence: confidence, cost: path.cost, matchedWords: path.matchedWords,
                                      intentIndex: intentIndex, templateIndex: templateIndex)
                if best == nil || score.beats(best!.score) {
                    best = (score, ParsedIntent(name: definition.name, slots: path.slots, confidence: (confidence * 1000).rounded() / 1000, text: text))
                }
            }
        }
        guard let best else { return .rejected(bestCandidate: nil) }
        return best.score.confidence >= options.threshold ? .matched(best.parsed) : .rejected(bestCandidate: best.parsed)
    }

    struct Candidate {
        var confidence: Double, cost: Double, matchedWords: Int, intentIndex: Int, templateIndex: Int
        func beats(_ o: Candidate) -> Bool {
            if abs(confidence - o.confidence) > 1e-9 { return confidence > o.confidence }
            if abs(cost - o.cost) > 1e-9 { return cost < o.cost }
            if matchedWords != o.matchedWords { return matchedWords > o.matchedWords }
            if intentIndex != o.intentIndex { return intentIndex < o.intentIndex }
            return templateIndex < o.templateIndex
        }
    }
}

/// Per-utterance caches and the alignment dynamic program.
struct Scratch {
    let tokens: [String]
    let options: RecognizerOptions
    var wordCosts: [String: [Double]] = [:]
    var slotCache: [SlotKey: SlotFill?] = [:]

    struct SlotKey: Hashable { let key: String; let start: Int; let end: Int }
    struct SlotFill { let cost: Double; let value: SlotValue }

    struct Path { var cost: Double; var norm: Int; var matchedWords: Int; var slots: [String: SlotValue] }

    init(tokens: [String], options: RecognizerOptions) { self.tokens = tokens; self.options = options }

    /// Cost of reading input token `j` as template word `w`.
    mutating func wordCost(_ w: String, _ j: Int) -> Double {
        if let row = wordCosts[w] { return row[j] }
        let row = tokens.map { t -> Double in
            if t == w { return 0 }
            let sim = WordSimilarity.similarity(w, t)
            return sim >= 0.6 ? options.substitutionCost * (1 - sim) : options.substitutionCost
        }
        wordCosts[w] = row
        return row[j]
    }

    mutating func slot(_ d: SlotDefinition, _ start: Int, _ end: Int) -> SlotFill? {
        let key = SlotKey(key: d.key, start: start, end: end)
        if let cached = slotCache[key] { return cached }
        let fill = computeSlot(d, start, end)
        slotCache[key] = fill
        return fill
    }

    mutating func computeSlot(_ d: SlotDefinition, _ start: Int, _ end: Int) -> SlotFill? {
        let span = tokens[start..<end]
        let text = span.joined(separator: " ")
        switch d.type {
        case let .list(values):
            var best: (Double, String)? = nil
            for v in values {
                for syn in v.synonyms {
                    let c = listCost(syn, start, end)
                    if c <= 0.45 * Double(syn.count), best == nil || c < best!.0 { best = (c, v.value) }
                }
            }
            return best.map { SlotFill(cost: $0.0, value: SlotValue(.text($0.1), text: text)) }
        case let .text(limit):
            if let limit, span.count > limit { return nil }
            // A message of only function words ("me", "it") is not a message.
            if span.allSatisfy({ Self.functionWords.contains($0) }) { return nil }
            return SlotFill(cost: options.freeTextWordCost * Double(span.count), value: SlotValue(.text(text), text: text))
        case let .integer(range):
            guard let v = NumberParser.parseWhole(span), v == v.rounded(), range.map({ $0.contains(v) }) ?? true else { return nil }
            return SlotFill(cost: 0, value: SlotValue(.number(v), text: text))
        case let .decimal(range):
            guard let v = NumberParser.parseWhole(span, fractions: true), range.map({ $0.contains(v) }) ?? true else { return nil }
            return SlotFill(cost: 0, value: SlotValue(.number(v), text: text))
        case .duration:
            return DurationParser.parse(span).map { SlotFill(cost: 0, value: SlotValue(.duration($0), text: text)) }
        case .timeOfDay:
            return TimeOfDayParser.parse(span).map { SlotFill(cost: 0, value: SlotValue(.time($0), text: text)) }
        case .date:
            return DateParser.parse(span).map { SlotFill(cost: 0, value: SlotValue(.date($0), text: text)) }
        case .expression:
            return ExpressionParser.evaluate(span).map { SlotFill(cost: 0, value: SlotValue(.expression($0), text: text)) }
        }
    }

    /// Word-level edit cost between a synonym and `tokens[start..<end]`.
    mutating func listCost(_ syn: [String], _ start: Int, _ end: Int) -> Double {
        let n = end - start
        var prev = (0...n).map { Double($0) * options.insertionCost }
        for (i, w) in syn.enumerated() {
            var cur = [Double](repeating: 0, count: n + 1)
            cur[0] = Double(i + 1) * options.deletionCost
            for j in 1...max(n, 1) where j <= n {
                cur[j] = min(prev[j - 1] + wordCost(w, start + j - 1), prev[j] + options.deletionCost, cur[j - 1] + options.insertionCost)
            }
            prev = cur
        }
        return prev[n]
    }

    static let functionWords: Set<String> = [
        "a", "an", "the", "my", "to", "for", "of", "in", "on", "at", "is", "it", "me", "and", "that", "this",
        "some", "up", "you", "i", "be", "are", "do", "with", "your", "from", "by",
    ]

    func insertion(_ j: Int) -> Double {
        Self.functionWords.contains(tokens[j]) ? options.functionWordCost : options.insertionCost
    }

    func deletion(_ w: String) -> Double {
        Self.functionWords.contains(w) ? options.functionWordCost : options.deletionCost
    }

    struct Back { var node: Int32 = -1; var j: Int32 = -1; var arc: Int32 = -1 }

    /// The cheapest alignment of the whole input with `template`, or nil if none is possible.
    mutating func align(_ template: Template) -> Path? {
        let n = tokens.count
        let m = template.arcs.count
        let width = n + 1
        var cost = [Double](repeating: .infinity, count: m * width)
        var back = [Back](repeating: Back(), count: m * width)
        cost[0] = 0
        for node in 0..<m {
            let base = node * width
            // Extra input words stay at this node.
            for j in 0..<n where cost[base + j] + insertion(j) < cost[base + j + 1] {
                cost[base + j + 1] = cost[base + j] + insertion(j)
                back[base + j + 1] = Back(node: Int32(node), j: Int32(j), arc: -1)
            }
            for (arcIndex, arc) in template.arcs[node].enumerated() {
                let target = arc.to * width
                func relax(_ j: Int, _ k: Int, _ c: Double) {
                    if c < cost[target + k] {
                        cost[target + k] = c
                        back[target + k] = Back(node: Int32(node), j: Int32(j), arc: Int32(arcIndex))
                    }
                }
                for j in 0...n where cost[base + j].isFinite {
                    let here = cost[base + j]
                    switch arc.edge {
                    case .empty:
                        relax(j, j, here)
                    case let .word(w):
                        relax(j, j, here + deletion(w))
                        if j < n { relax(j, j + 1, here + wordCost(w, j)) }
                    case let .slot(_, d):
                        let limit = min(n, j + d.maxWords)
                        if j < limit {
                            for k in (j + 1)...limit {
                                if let fill = slot(d, j, k) { relax(j, k, here + fill.cost) }
                            }
                        }
                    }
                }
            }
        }
        let finalCost = cost[template.accept * width + n]
        guard finalCost.isFinite else { return nil }
        // Walk back to collect slots, path length and matched words.
        var path = Path(cost: finalCost, norm: 0, matchedWords: 0, slots: [:])
        var node = template.accept, j = n
        while !(node == 0 && j == 0) {
            let b = back[node * width + j]
            guard b.node >= 0 else { break }
            if b.arc >= 0 {
                let arc = template.arcs[Int(b.node)][Int(b.arc)]
                switch arc.edge {
                case .empty: break
                case let .word(w):
                    path.norm += 1
                    if Int(b.j) < j, tokens[Int(b.j)] == w { path.matchedWords += 1 }
                case let .slot(name, d):
                    path.norm += 1
                    if let fill = slot(d, Int(b.j), j) { path.slots[name] = fill.value }
                }
            }
            node = Int(b.node); j = Int(b.j)
        }
        return path
    }
}
