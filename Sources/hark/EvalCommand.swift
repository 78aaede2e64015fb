import ASR
import ArgumentParser
import Audio
import Foundation

/// `hark eval`: accuracy measurements. One subcommand per stage (`asr`; `intent` joins later).
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure accuracy on a labelled manifest.",
        subcommands: [EvalASRCommand.self, EvalIntent.self]
    )
}

/// `hark eval asr MANIFEST.tsv`: word error rate of the recogniser (or of given transcripts).
struct EvalASRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asr",
        abstract: "Word error rate of speech recognition against a manifest's references.",
        discussion: """
            MANIFEST is tab-separated with a header naming the columns `file` (audio path, relative \
            to the manifest) and `transcript` (reference, empty for non-speech); `category` is \
            optional, other columns are ignored. Both sides are normalised (case, punctuation, \
            numbers, contractions). Prints per-file and total WER, and the number of words output \
            on rows whose reference is empty. With --hypotheses, scores the transcripts in that \
            file (same TSV format) instead of running the recogniser.
            """
    )

    @Argument(help: "The manifest (TSV with `file` and `transcript` columns).")
    var manifest: String

    @Option(help: "Whisper model folder (default: the installed whisper-tiny.en).")
    var model: String?

    @Option(help: "Only rows whose `category` column equals this (for example A).")
    var category: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Beam size for decoding.")
    var beamSize = 5

    @Option(help: "Score the transcripts of this TSV (`file`, `transcript`) instead of transcribing.")
    var hypotheses: String?

    func validate() throws {
        guard beamSize >= 1 else { throw ValidationError("--beam-size must be at least 1") }
    }

    func run() async throws {
        let manifestURL = URL(fileURLWithPath: manifest)
        let entries = try EvaluationManifest(contentsOf: manifestURL).entries(category: category)
        let evaluation = ASREvaluation()
        let report: ASREvaluation.Report
        if let hypotheses {
            let given = try EvaluationManifest(contentsOf: URL(fileURLWithPath: hypotheses))
            let texts = Dictionary(given.entries.map { ($0.path, $0.transcript) }, uniquingKeysWith: { first, _ in first })
            report = try evaluation.score(entries, hypotheses: texts, source: hypotheses)
        } else {
            let transcriber = try makeTranscriber()
            report = try await evaluation.run(entries, transcriber: transcriber, loadAudio: loadAudio) { row in
                if !json { FileHandle.standardError.write(Data("\(row.file): \(row.hypothesis)\n".utf8)) }
            }
        }
        print(json ? try Self.jsonText(report) : Self.table(report))
    }

    /// The recogniser for `--model` and `--beam-size` (other options: the library defaults,
    /// language English as the corpus is).
    func makeTranscriber() throws -> any SpeechTranscribing {
        let modelURL = try ModelLocator.resolve(model, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder")
        var options = TranscriptionOptions.default
        options.beamSize = beamSize
        options.language = "en"
        return WhisperSpeechTranscriber(try WhisperTranscriber(modelDirectory: modelURL), options: options)
    }

    /// 16 kHz mono samples of a manifest's audio file (any WAV; resampled and mixed down).
    func loadAudio(_ url: URL) throws -> [Float] {
        try AudioClip.load(url.path, sampleRate: WhisperTranscriber.sampleRate).samples
    }

    static func jsonText(_ report: ASREvaluation.Report) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func table(_ report: ASREvaluation.Report) -> String {
        var lines = ["file\tWER\terrors/words\thypothesis"]
        for row in report.rows {
            let wer = row.wordErrorRate.map { String(format: "%.1f%%", $0 * 100) } ?? "non-speech"
            let counts = row.isNonSpeech ? "\(row.counts.hypothesisWords) words out" : "\(row.counts.errors)/\(row.counts.referenceWords)"
            lines.append("\(row.file)\t\(wer)\t\(counts)\t\(row.hypothesis)")
        }
        let t = report.total
        let speechRows = report.rows.count - report.nonSpeechRows
        lines.append(String(format: "total WER %.2f%% (S %d, D %d, I %d, N %d) over %d file(s)",
                            (t.referenceWords == 0 ? 0 : t.wordErrorRate) * 100, t.substitutions, t.deletions,
                            t.insertions, t.referenceWords, speechRows))
        lines.append("non-speech: \(report.nonSpeechWords) word(s) output on \(report.nonSpeechRows) file(s) with an empty reference")
        return lines.joined(separator: "\n")
    }
}
