import ArgumentParser
import Foundation
import Intent

/// `hark eval intent MANIFEST.tsv`: intent and exact-match accuracy over a labelled manifest.
struct EvalIntent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent",
        abstract: "Score intent recognition on a labelled manifest (columns: text or file, intent, slots as JSON).",
        discussion: "Intent NONE marks sentences that must be rejected. Audio rows (file column) are reported as skipped: speech input is not wired into this command yet.")

    @Argument(help: "Tab-separated manifest with a header row.")
    var manifest: String

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Option(help: "Minimum confidence to accept an intent.")
    var threshold: Double = RecognizerOptions.default.threshold

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let content: String
        do { content = try String(contentsOfFile: manifest, encoding: .utf8) }
        catch { throw ValidationError("cannot read manifest \(manifest): \(error.localizedDescription)") }
        let rows = try IntentEvaluation.parseManifest(content, path: manifest)
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
            print("skipped \(report.skippedAudio.count) audio rows (lines \(report.skippedAudio.map(String.init).joined(separator: ", "))): audio input is not supported by `hark eval intent` yet")
        }
        print("rows: \(report.total) (in-domain \(report.inDomain), out-of-domain \(report.outOfDomain))")
        print("intent accuracy: \(pct(report.intentAccuracy)) (\(report.intentCorrect)/\(report.total))")
        print("exact-match accuracy: \(pct(report.exactAccuracy)) (\(report.exactCorrect)/\(report.total)); in-domain \(pct(report.inDomainExactAccuracy))")
        print("out-of-domain accepted: \(pct(report.outOfDomainAcceptRate)) (\(report.outOfDomainAccepted)/\(report.outOfDomain))")
    }
}
