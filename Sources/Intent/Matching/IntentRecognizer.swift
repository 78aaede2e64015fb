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

    /// The same command: the same intent with the same canonical slot values, however worded
    /// ("set a timer for 10 seconds" and "Set a timer for ten seconds.").
    public func means(sameAs other: ParsedIntent) -> Bool {
        name == other.name && slots.mapValues(\.canonical) == other.slots.mapValues(\.canonical)
    }
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
    /// Cost of dropping a word next to a free-text slot (the slot could swallow anything, so
    /// that word is what anchors the match: "turn off the oven" is not a timer named "oven").
    public var anchorDeletionCost: Double = 2.0
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
    let compiled: CompiledIntents

    public init(intents: IntentSet, options: RecognizerOptions = .default) {
        self.intents = intents
        self.options = options
        self.compiled = CompiledIntents(intents)
    }

    /// The best intent for `text`, or a rejection carrying the best candidate.
    public func recognize(_ text: String) -> IntentMatchResult {
        let tokens = normalizer.tokens(text)
        guard !tokens.isEmpty, tokens.count <= options.maxWords else { return .rejected(bestCandidate: nil) }
        var scratch = Scratch(tokens: tokens, options: options, compiled: compiled)
        var best: (score: Candidate, parsed: ParsedIntent)? = nil
        for (intentIndex, definition) in intents.intents.enumerated() {
            for (templateIndex, template) in compiled.templates[intentIndex].enumerated() {
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

/// Templates with words and slot definitions replaced by small integers, so the per-utterance
/// caches are flat arrays rather than string-keyed dictionaries.
struct CompiledIntents: Sendable {
    struct Arc: Sendable {
        enum Kind: Sendable { case empty, word, slot }
        let kind: Kind
        /// Word id or slot-definition id.
        let id: Int
        let to: Int
        let slotName: String
        /// A word right before or after a free-text slot: the slot could swallow anything, so
        /// the word is what anchors the match and dropping it costs a full deletion.
        var anchor = false
    }
    struct CompiledTemplate: Sendable {
        let arcs: [[Arc]]
        let accept: Int
    }

    var words: [String] = []
    var preparedWords: [WordSimilarity.Prepared] = []
    var definitions: [SlotDefinition] = []
    /// `templates[intent][template]`.
    var templates: [[CompiledTemplate]] = []

    init(_ set: IntentSet) {
        var wordIDs: [String: Int] = [:]
        var definitionIDs: [String: Int] = [:]
        for definition in set.intents {
            var list: [CompiledTemplate] = []
            for template in definition.templates {
                let arcs = template.arcs.map { node in
                    node.map { arc -> Arc in
                        switch arc.edge {
                        case .empty:
                            return Arc(kind: .empty, id: 0, to: arc.to, slotName: "")
                        case let .word(w):
                            let id = wordIDs[w] ?? { words.append(w); wordIDs[w] = words.count - 1; return words.count - 1 }()
                            return Arc(kind: .word, id: id, to: arc.to, slotName: "")
                        case let .slot(name, d):
                            let id = definitionIDs[d.key] ?? { definitions.append(d); definitionIDs[d.key] = definitions.count - 1; return definitions.count - 1 }()
                            return Arc(kind: .slot, id: id, to: arc.to, slotName: name)
                        }
                    }
                }
                list.append(CompiledTemplate(arcs: Self.markAnchors(arcs, definitions), accept: template.accept))
            }
            templates.append(list)
        }
        preparedWords = words.map(WordSimilarity.Prepared.init)
    }

    static func markAnchors(_ arcs: [[Arc]], _ definitions: [SlotDefinition]) -> [[Arc]] {
        func isText(_ a: Arc) -> Bool {
            guard a.kind == .slot, case .text = definitions[a.id].type else { return false }
            return true
        }
        let afterText = Set(arcs.flatMap { $0.filter(isText).map(\.to) })
        return arcs.enumerated().map { node, list in
            list.map { arc in
                var a = arc
                if a.kind == .word && (afterText.contains(node) || arcs[a.to].contains(where: isText)) { a.anchor = true }
                return a
            }
        }
    }
}

/// Per-utterance caches and the alignment dynamic program.
struct Scratch {
    let tokens: [String]
    let options: RecognizerOptions
    let compiled: CompiledIntents
    let n: Int
    /// `wordCostTable[word * n + j]`, negative = not computed yet.
    var wordCostTable: [Double]
    /// Slot fills by `(definition * (n + 1) + start) * (n + 1) + end`; state 0 unknown, 1 none, 2 filled.
    var slotState: [UInt8]
    var slotFills: [SlotFill?]
    let isFunctionWord: [Bool]
    let preparedTokens: [WordSimilarity.Prepared]
    var listWordCosts: [String: [Double]] = [:]

    struct SlotFill { let cost: Double; let value: SlotValue }

    struct Path { var cost: Double; var norm: Int; var matchedWords: Int; var slots: [String: SlotValue] }

    init(tokens: [String], options: RecognizerOptions, compiled: CompiledIntents) {
        self.tokens = tokens
        self.options = options
        self.compiled = compiled
        n = tokens.count
        wordCostTable = [Double](repeating: -1, count: compiled.words.count * tokens.count)
        let slots = compiled.definitions.count * (tokens.count + 1) * (tokens.count + 1)
        slotState = [UInt8](repeating: 0, count: slots)
        slotFills = [SlotFill?](repeating: nil, count: slots)
        isFunctionWord = tokens.map { Self.functionWords.contains($0) }
        preparedTokens = tokens.map(WordSimilarity.Prepared.init)
    }

    static func substitution(_ w: WordSimilarity.Prepared, _ t: WordSimilarity.Prepared, _ options: RecognizerOptions) -> Double {
        if t.word == w.word { return 0 }
        let sim = WordSimilarity.similarity(w, t)
        return sim >= 0.6 ? options.substitutionCost * (1 - sim) : options.substitutionCost
    }

    /// Cost of reading input token `j` as template word number `id`.
    mutating func wordCost(_ id: Int, _ j: Int) -> Double {
        let k = id * n + j
        let cached = wordCostTable[k]
        if cached >= 0 { return cached }
        let c = Self.substitution(compiled.preparedWords[id], preparedTokens[j], options)
        wordCostTable[k] = c
        return c
    }

    /// Cost of reading input token `j` as a value-list word `w`.
    mutating func listWordCost(_ w: String, _ j: Int) -> Double {
        if let row = listWordCosts[w] { return row[j] }
        let prepared = WordSimilarity.Prepared(w)
        let row = preparedTokens.map { Self.substitution(prepared, $0, options) }
        listWordCosts[w] = row
        return row[j]
    }

    mutating func slot(_ id: Int, _ start: Int, _ end: Int) -> SlotFill? {
        let k = (id * (n + 1) + start) * (n + 1) + end
        switch slotState[k] {
        case 1: return nil
        case 2: return slotFills[k]
        default:
            let fill = computeSlotMutating(compiled.definitions[id], start, end)
            slotState[k] = fill == nil ? 1 : 2
            slotFills[k] = fill
            return fill
        }
    }

    mutating func computeSlotMutating(_ d: SlotDefinition, _ start: Int, _ end: Int) -> SlotFill? {
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
                cur[j] = min(prev[j - 1] + listWordCost(w, start + j - 1), prev[j] + options.deletionCost, cur[j - 1] + options.insertionCost)
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
        isFunctionWord[j] ? options.functionWordCost : options.insertionCost
    }

    func deletion(_ w: String) -> Double {
        Self.functionWords.contains(w) ? options.functionWordCost : options.deletionCost
    }

    struct Back { var node: Int32 = -1; var j: Int32 = -1; var arc: Int32 = -1 }

    /// The cheapest alignment of the whole input with `template`, or nil if none is possible.
    mutating func align(_ template: CompiledIntents.CompiledTemplate) -> Path? {
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
                for j in 0...n where cost[base + j].isFinite {
                    let here = cost[base + j]
                    func relax(_ k: Int, _ c: Double) {
                        if c < cost[target + k] {
                            cost[target + k] = c
                            back[target + k] = Back(node: Int32(node), j: Int32(j), arc: Int32(arcIndex))
                        }
                    }
                    switch arc.kind {
                    case .empty:
                        relax(j, here)
                    case .word:
                        relax(j, here + (arc.anchor ? options.anchorDeletionCost : deletion(compiled.words[arc.id])))
                        if j < n { relax(j + 1, here + wordCost(arc.id, j)) }
                    case .slot:
                        let limit = min(n, j + compiled.definitions[arc.id].maxWords)
                        if j < limit {
                            for k in (j + 1)...limit {
                                if let fill = slot(arc.id, j, k) { relax(k, here + fill.cost) }
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
                switch arc.kind {
                case .empty: break
                case .word:
                    path.norm += 1
                    if Int(b.j) < j, tokens[Int(b.j)] == compiled.words[arc.id] { path.matchedWords += 1 }
                case .slot:
                    path.norm += 1
                    if let fill = slot(arc.id, Int(b.j), j) { path.slots[arc.slotName] = fill.value }
                }
            }
            node = Int(b.node); j = Int(b.j)
        }
        return path
    }
}
