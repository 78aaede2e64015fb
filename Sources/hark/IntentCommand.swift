import ArgumentParser
import Foundation
import Intent

/// `hark intent "set a timer for five minutes"`: prints the recognised intent as JSON.
struct IntentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent",
        abstract: "Recognise the intent of a sentence and print it as JSON ({intent, slots, confidence, text}, or null).")

    @Argument(help: "The sentence, as typed or transcribed.")
    var text: [String]

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Flag(help: "When nothing is accepted, also print the best rejected candidate.")
    var verbose = false

    @Option(help: "Minimum confidence to accept an intent.")
    var threshold: Double = RecognizerOptions.default.threshold

    func run() async throws {
        let intents = try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) })
        var options = RecognizerOptions.default
        options.threshold = threshold
        let result = IntentRecognizer(intents: intents, options: options).recognize(text.joined(separator: " "))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let intent = result.intent {
            print(String(decoding: try encoder.encode(intent), as: UTF8.self))
        } else {
            print("null")
            if verbose {
                if let best = result.best {
                    FileHandle.standardError.write(Data("best rejected candidate (threshold \(threshold)):\n".utf8))
                    FileHandle.standardError.write(try encoder.encode(best) + Data("\n".utf8))
                } else {
                    FileHandle.standardError.write(Data("no template came close\n".utf8))
                }
            }
        }
    }
}
