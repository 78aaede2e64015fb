import ArgumentParser
import Assistant
import Foundation
import Intent
import LLM

/// `hark ask "what's twelve times fourteen"`: recognise the intent, run its skill, print the reply.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a request: offline skills first, the local language model for everything else.",
        discussion: """
            The request goes through the intent parser; a matching intent runs its skill (time, \
            timers, calculator, conversions, notes, volume, your hooks). When no intent matches, \
            the local language model answers (SmolLM2 by default), streamed as it is generated.

            Examples:
              hark ask "what's twelve times fourteen"
              hark ask "convert 5 miles to kilometers"
              hark ask "why is the sky blue"           # no intent: the model answers
              hark ask --llm "tell me a joke"          # skip the skills
              hark ask --no-llm "why is the sky blue"  # skills only; exit 2 if none
            """)

    @Argument(help: "The request, as typed or transcribed.")
    var text: [String]

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Flag(help: "Print the intent and the skill's structured result as JSON.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "--llm: only the local language model answers; --no-llm: only the skills (no fallback). Default: skills first, then the model.")
    var llm: Bool? = nil

    @OptionGroup var languageModel: LanguageModelOptions

    func run() async throws {
        let question = text.joined(separator: " ")
        var options = CommandResponder.Options()
        options.useSkills = llm != true
        options.useLanguageModel = llm != false
        options.generation = languageModel.generationConfig
        let intents = try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) })
        let modelURL = options.useLanguageModel ? try languageModel.modelURL() : nil
        let responder = CommandResponder(intents: intents, timers: nil,
                                         languageModel: modelURL.map { LanguageModelHost(modelURL: $0, threads: languageModel.threads) },
                                         options: options)
        // The skills first, apart, so --json can print the intent and the skill's structured result.
        if let answer = await responder.skillAnswer(question) {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                struct Output: Encodable { let intent: ParsedIntent; let reply: SkillReply }
                print(String(decoding: try encoder.encode(Output(intent: answer.intent, reply: answer.reply)), as: UTF8.self))
            } else {
                print(answer.reply.text)
            }
            if !answer.reply.succeeded { throw ExitCode(1) }
            return
        }
        guard let modelURL else {
            if json { print("null") } else { print("Sorry, no skill matches that request.") }
            throw ExitCode(2)
        }
        // No intent: the responder hands the question to the model and streams its pieces.
        var reply = ""
        for try await event in responder.respond(to: question) {
            switch event {
            case let .replyPiece(piece, _): if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
            case let .reply(text, _, _): reply = text
            default: break
            }
        }
        if json {
            let object: [String: Any] = ["intent": NSNull(), "reply": ["text": reply, "source": "llm", "model": modelURL.lastPathComponent]]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print()
        }
    }
}
