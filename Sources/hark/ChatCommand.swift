import ArgumentParser
import Foundation
import LLM

/// `hark chat`: an interactive conversation with the local language model.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the local language model (streams answers; Ctrl-D ends).",
        discussion: """
            Runs a GGUF model (llama or qwen2 architecture) on this machine. The conversation is \
            kept between questions; answers are short and spoken-style. Type a question and press \
            Enter; an empty line is ignored; Ctrl-D (end of input) quits.
            """)

    @OptionGroup var options: LanguageModelOptions

    /// Unbuffered, so streamed tokens show as they come.
    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    func run() async throws {
        let assistant = try options.makeAssistant()
        let config = options.generationConfig
        var history: [ChatMessage] = []
        let interactive = isatty(STDIN_FILENO) != 0
        while true {
            if interactive { write("> ") }
            guard let line = readLine() else { break }
            let question = line.trimmingCharacters(in: .whitespaces)
            if question.isEmpty { continue }
            var reply = ""
            for try await piece in assistant.answer(question, history: history, config: config) {
                reply += piece
                write(piece)
            }
            write("\n")
            history += [.user(question), .assistant(reply.trimmingCharacters(in: .whitespacesAndNewlines))]
        }
    }
}
