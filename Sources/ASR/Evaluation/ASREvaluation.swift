import Foundation

/// Speech to text for one utterance: the seam between evaluation (and other callers) and the
/// recogniser. The Whisper transcriber conforms; tests use three-line fakes.
public protocol SpeechTranscribing: Sendable {
    /// The text spoken in `samples` (16 kHz mono, nominally in [-1, 1]); "" for no speech.
    func transcribe(_ samples: [Float]) async throws -> String
}

/// Word error rate of transcripts against a manifest's references, normalised on both sides
/// with ``EnglishTextNormalizer``.
///
/// ```swift
/// let manifest = try EvaluationManifest(contentsOf: url)
/// let report = try await ASREvaluation().run(manifest.entries(category: "A"),
///     transcriber: whisper, loadAudio: { try WAVReader.read($0).samples })
/// print(report.total.wordErrorRate)
/// ```
public struct ASREvaluation: Sendable {
    /// One scored row.
    public struct Row: Sendable, Codable, Equatable {
        public let file: String
        public let category: String?
        public let reference: String
        public let hypothesis: String
        public let normalizedReference: String
        public let normalizedHypothesis: String
        public let counts: WordErrorCounts
        /// Rows with an empty (normalised) reference: non-speech, scored by words output.
        public var isNonSpeech: Bool { counts.referenceWords == 0 }
        public var wordErrorRate: Double? { isNonSpeech ? nil : counts.wordErrorRate }

        enum CodingKeys: String, CodingKey {
            case file, category, reference, hypothesis, normalizedReference, normalizedHypothesis, counts
        }
    }

    /// The result over a set of rows.
    public struct Report: Sendable, Codable, Equatable {
        public let rows: [Row]
        /// Counts summed over rows with a non-empty reference.
        public var total: WordErrorCounts {
            rows.filter { !$0.isNonSpeech }.reduce(WordErrorCounts()) { $0 + $1.counts }
        }
        /// Rows whose reference is empty.
        public var nonSpeechRows: Int { rows.filter(\.isNonSpeech).count }
        /// Words output (after normalisation) on rows whose reference is empty.
        public var nonSpeechWords: Int { rows.filter(\.isNonSpeech).reduce(0) { $0 + $1.counts.hypothesisWords } }

        public init(rows: [Row]) { self.rows = rows }

        enum CodingKeys: String, CodingKey { case rows, total, wordErrorRate, nonSpeechRows, nonSpeechWords }

        public init(from decoder: any Decoder) throws {
            rows = try decoder.container(keyedBy: CodingKeys.self).decode([Row].self, forKey: .rows)
        }

        /// The rows plus the derived totals (`total`, `wordErrorRate`, `nonSpeechRows`, `nonSpeechWords`).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rows, forKey: .rows)
            try c.encode(total, forKey: .total)
            try c.encode(total.referenceWords == 0 ? 0 : total.wordErrorRate, forKey: .wordErrorRate)
            try c.encode(nonSpeechRows, forKey: .nonSpeechRows)
            try c.encode(nonSpeechWords, forKey: .nonSpeechWords)
        }
    }

    public let normalizer: EnglishTextNormalizer

    public init(normalizer: EnglishTextNormalizer = EnglishTextNormalizer()) {
        self.normalizer = normalizer
    }

    /// Scores one hypothesis against its reference.
    public func score(file: String, category: String?, reference: String, hypothesis: String) -> Row {
        let ref = normalizer.words(reference), hyp = normalizer.words(hypothesis)
        return Row(file: file, category: category, reference: reference, hypothesis: hypothesis,
                   normalizedReference: ref.joined(separator: " "), normalizedHypothesis: hyp.joined(separator: " "),
                   counts: WordErrorCounts(reference: ref, hypothesis: hyp))
    }

    /// Transcribes each entry's audio (in order, one at a time) and scores it.
    /// - Parameters:
    ///   - loadAudio: reads an entry's file as 16 kHz mono samples (the caller owns audio I/O).
    ///   - progress: called after each row.
    public func run(_ entries: [EvaluationManifest.Entry], transcriber: any SpeechTranscribing,
                    loadAudio: (URL) throws -> [Float], progress: (Row) -> Void = { _ in }) async throws -> Report {
        var rows: [Row] = []
        for entry in entries {
            let samples = try loadAudio(entry.url)
            let text = try await transcriber.transcribe(samples)
            let row = score(file: entry.path, category: entry.category, reference: entry.transcript, hypothesis: text)
            progress(row)
            rows.append(row)
        }
        return Report(rows: rows)
    }

    /// Scores precomputed hypotheses (`file` -> text, e.g. another engine's transcripts) against
    /// the entries. Entries without a hypothesis throw `ASRError.missingHypothesis`.
    public func score(_ entries: [EvaluationManifest.Entry], hypotheses: [String: String], source: String) throws -> Report {
        try Report(rows: entries.map { entry in
            guard let text = hypotheses[entry.path] else {
                throw ASRError.missingHypothesis(file: entry.path, source: source)
            }
            return score(file: entry.path, category: entry.category, reference: entry.transcript, hypothesis: text)
        })
    }
}
