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

    @Option(name: .long, help: "GGUF model file (default: the installed SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "Most tokens per answer.")
    var maxTokens = 256

    @Option(name: .long, help: "Sampling temperature; 0 always picks the most likely token.")
    var temperature: Float = 0.7

    @Option(name: .long, help: "Seed for reproducible sampling.")
    var seed: UInt64?

    @Option(name: .long, help: "Threads for the matrix products.")
    var threads = 2

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be in 1...64") }
    }

    /// Unbuffered, so streamed tokens show as they come.
    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    func run() async throws {
        let url = model.map { URL(fileURLWithPath: $0) } ?? ModelLocator.locate(ModelLocator.smolLM2)
        guard FileManager.default.fileExists(atPath: url.path) else {
            if model == nil { throw ValidationError(ModelLocator.missing(ModelLocator.smolLM2)) }
            throw ValidationError("model file not found: \(url.path)")
        }
        let assistant = try LocalAssistantLLM(modelURL: url, threads: threads)
        var config = GenerationConfig(maxTokens: maxTokens, temperature: temperature, seed: seed)
        if temperature == 0 { config = .greedy; config.maxTokens = maxTokens }
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
