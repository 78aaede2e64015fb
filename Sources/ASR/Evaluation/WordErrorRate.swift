/// Word-level edit counts between a reference and a hypothesis: the minimum number of
/// substitutions, deletions and insertions turning the reference into the hypothesis
/// (Levenshtein 1966 over words). Counts add up over a corpus; `wordErrorRate` is
/// `(S + D + I) / N` with N the reference word count.
public struct WordErrorCounts: Sendable, Equatable, Codable {
    public var substitutions: Int
    public var deletions: Int
    public var insertions: Int
    /// Words in the reference (N).
    public var referenceWords: Int
    /// Words in the hypothesis.
    public var hypothesisWords: Int

    public init(substitutions: Int = 0, deletions: Int = 0, insertions: Int = 0, referenceWords: Int = 0, hypothesisWords: Int = 0) {
        self.substitutions = substitutions
        self.deletions = deletions
        self.insertions = insertions
        self.referenceWords = referenceWords
        self.hypothesisWords = hypothesisWords
    }

    /// S + D + I.
    public var errors: Int { substitutions + deletions + insertions }

    /// (S + D + I) / N; 0 when both are empty, +infinity for words against an empty reference.
    public var wordErrorRate: Double {
        if referenceWords == 0 { return errors == 0 ? 0 : .infinity }
        return Double(errors) / Double(referenceWords)
    }

    /// Aligns `hypothesis` to `reference` (already normalised words). Among alignments with the
    /// fewest errors, prefers substitutions over a deletion plus an insertion.
    public init(reference: [String], hypothesis: [String]) {
        let n = reference.count, m = hypothesis.count
        // cost[i][j] over prefixes, with (errors, substitutions, deletions, insertions) tracked.
        struct Cell { var cost: Int; var s: Int; var d: Int; var i: Int }
        var previous = (0...m).map { Cell(cost: $0, s: 0, d: 0, i: $0) }
        var current = previous
        if n > 0 {
            for r in 1...n {
                current[0] = Cell(cost: r, s: 0, d: r, i: 0)
                if m > 0 {
                    for h in 1...m {
                        var best: Cell
                        if reference[r - 1] == hypothesis[h - 1] {
                            best = previous[h - 1]
                        } else {
                            best = previous[h - 1]
                            best.cost += 1
                            best.s += 1
                        }
                        var deletion = previous[h]
                        deletion.cost += 1
                        deletion.d += 1
                        if deletion.cost < best.cost { best = deletion }
                        var insertion = current[h - 1]
                        insertion.cost += 1
                        insertion.i += 1
                        if insertion.cost < best.cost { best = insertion }
                        current[h] = best
                    }
                }
                swap(&previous, &current)
            }
        }
        let end = previous[m]
        self.init(substitutions: end.s, deletions: end.d, insertions: end.i, referenceWords: n, hypothesisWords: m)
    }

    /// Sum of two counts (corpus totals).
    public static func + (a: WordErrorCounts, b: WordErrorCounts) -> WordErrorCounts {
        WordErrorCounts(substitutions: a.substitutions + b.substitutions, deletions: a.deletions + b.deletions,
                        insertions: a.insertions + b.insertions, referenceWords: a.referenceWords + b.referenceWords,
                        hypothesisWords: a.hypothesisWords + b.hypothesisWords)
    }
}
