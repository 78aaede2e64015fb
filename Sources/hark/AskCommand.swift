import ArgumentParser
import Foundation
import Intent

/// `hark ask "what's twelve times fourteen"`: recognise the intent, run its skill, print the reply.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a request with the offline skills (time, timers, calculator, conversions, notes, volume, your hooks).")

    @Argument(help: "The request, as typed or transcribed.")
    var text: [String]

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Flag(help: "Print the intent and the skill's structured result as JSON.")
    var json = false

    func run() async throws {
        let question = text.joined(separator: " ")
        let intents = try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) })
        let responder = IntentResponder(intents: intents)
        guard let answer = await Self.answer(question, responder: responder) else {
            // Seam for the local-LLM fallback: questions no intent matches end up here.
            if json { print("null") } else { print("Sorry, I don't know how to help with that yet.") }
            throw ExitCode(2)
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

    /// The skill's answer, or nil when no intent matches (the caller then falls back).
    static func answer(_ question: String, responder: IntentResponder) async -> (intent: ParsedIntent, reply: SkillReply)? {
        await responder.respond(to: question, context: SkillContext())
    }
}
