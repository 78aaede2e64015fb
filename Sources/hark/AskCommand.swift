import ArgumentParser
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
        if llm == true {
            try await answerWithLanguageModel(question)
            return
        }
        let intents = try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) })
        let responder = IntentResponder(intents: intents)
        guard let answer = await Self.answer(question, responder: responder) else {
            if llm == false {
                if json { print("null") } else { print("Sorry, no skill matches that request.") }
                throw ExitCode(2)
            }
            try await answerWithLanguageModel(question)
            return
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Output: Encodable { let intent: ParsedIntent; let reply: SkillReply }
            print(String(decoding: try encoder.encode(Output(intent: answer.intent, reply: answer.reply)), as: UTF8.self))
        } else {
            print(answer.reply.text)
        }
        if !answer.reply.succeeded { throw ExitCode(1) }
    }

    /// Streams the local model's answer to standard output (or prints it as JSON at the end).
    private func answerWithLanguageModel(_ question: String) async throws {
        let model = try languageModel.makeAssistant()
        let config = languageModel.generationConfig
        var reply = ""
        for try await piece in model.answer(question, config: config) {
            reply += piece
            if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
        }
        let trimmed = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        if json {
            let object: [String: Any] = ["intent": NSNull(), "reply": ["text": trimmed, "source": "llm", "model": try languageModel.modelURL().lastPathComponent]]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print()
        }
    }

    /// The skill's answer, or nil when no intent matches (the caller then falls back).
    static func answer(_ question: String, responder: IntentResponder) async -> (intent: ParsedIntent, reply: SkillReply)? {
        await responder.respond(to: question, context: SkillContext())
    }
}
