import ArgumentParser
import ASR
import Audio
import Foundation
import Intent

/// `hark eval intent MANIFEST.tsv`: intent and exact-match accuracy over a labelled manifest.
struct EvalIntent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent",
        abstract: "Score intent recognition on a labelled manifest (columns: text or file, intent, slots as JSON).",
        discussion: """
            Intent NONE (or an empty intent) marks sentences that must be rejected. Rows with a \
            `file` column and no `text` are audio: the file (relative to the manifest) is \
            transcribed with Whisper first, so the score covers recognition and understanding \
            together.

            Examples:
              hark eval intent Tests/Fixtures/intent/dev.tsv
              hark eval intent spoken-commands.tsv --model models/whisper-tiny.en --json
            """)

    @Argument(help: "Tab-separated manifest with a header row.")
    var manifest: String

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Option(help: "Minimum confidence to accept an intent.")
    var threshold: Double = RecognizerOptions.default.threshold

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Whisper model folder for audio rows (default: the installed tiny.en).")
    var model: String?

    @Option(help: "Beam size for transcribing audio rows.")
    var beamSize = 5

    func run() async throws {
        let content: String
        do { content = try String(contentsOfFile: manifest, encoding: .utf8) }
        catch { throw ValidationError("cannot read manifest \(manifest): \(error.localizedDescription)") }
        let rows = try await transcribeAudioRows(IntentEvaluation.parseManifest(content, path: manifest))
        let intents = try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) })
        var options = RecognizerOptions.default
        options.threshold = threshold
        let report = IntentEvaluation.evaluate(rows, recognizer: IntentRecognizer(intents: intents, options: options))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        for miss in report.misses {
            let got = miss.predictedIntent ?? "NONE"
            let conf = miss.confidence.map { String(format: " (%.2f)", $0) } ?? ""
            print("MISS line \(miss.line): \"\(miss.text)\" expected \(miss.expectedIntent ?? "NONE"), got \(got)\(conf)"
                  + (miss.problems.isEmpty ? "" : " - " + miss.problems.joined(separator: "; ")))
        }
        if !report.skippedAudio.isEmpty {
            print("skipped \(report.skippedAudio.count) rows with no text (lines \(report.skippedAudio.map(String.init).joined(separator: ", ")))")
        }
        print("rows: \(report.total) (in-domain \(report.inDomain), out-of-domain \(report.outOfDomain))")
        print("intent accuracy: \(pct(report.intentAccuracy)) (\(report.intentCorrect)/\(report.total))")
        print("exact-match accuracy: \(pct(report.exactAccuracy)) (\(report.exactCorrect)/\(report.total)); in-domain \(pct(report.inDomainExactAccuracy))")
        print("out-of-domain accepted: \(pct(report.outOfDomainAcceptRate)) (\(report.outOfDomainAccepted)/\(report.outOfDomain))")
    }

    /// Fills in the text of audio rows with Whisper's transcript (the model loads only if needed).
    private func transcribeAudioRows(_ rows: [LabelledUtterance]) async throws -> [LabelledUtterance] {
        guard rows.contains(where: { $0.text == nil && $0.audioFile != nil }) else { return rows }
        let modelURL = try ModelLocator.resolve(model, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder")
        let transcriber = try WhisperTranscriber(modelDirectory: modelURL)
        var options = TranscriptionOptions.default
        options.beamSize = beamSize
        let folder = URL(fileURLWithPath: manifest).deletingLastPathComponent()
        var filled = rows
        for index in filled.indices where filled[index].text == nil {
            guard let file = filled[index].audioFile else { continue }
            let path = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
            let clip = try AudioClip.load(path, sampleRate: 16000)
            let transcript = try await transcriber.transcribe(clip.samples, options: options)
            filled[index].text = transcript.text.trimmingCharacters(in: .whitespaces)
            if !json { FileHandle.standardError.write(Data("\(file): \(filled[index].text ?? "")\n".utf8)) }
        }
        return filled
    }
}
