import Foundation
import LLM

/// Local LLM speed: prompt tokens/s (64-token prompt), generation tokens/s (64 greedy tokens),
/// time to first token and peak memory, for SmolLM2 Q4_1 on 1 and 2 threads, and Qwen2.5
/// Q4_K_M generation on 2 threads when installed. llama.cpp on this machine (llama-bench):
/// SmolLM2 gen 170 / 192 tok/s, prompt 268 / 505 tok/s (1 / 2 threads); Qwen 68 tok/s (2).
///
/// `HARK_LLM_BENCH_MODEL=FILE.gguf HARK_LLM_BENCH_THREADS=N` measures only that file on N
/// threads (generation and prompt) and prints no llama.cpp ratios: scripts/bench-vs-llama-cpp
/// alternates this with llama.cpp measured the same way in the same minutes.
func benchLLM() async throws {
    let environment = ProcessInfo.processInfo.environment
    if let file = environment["HARK_LLM_BENCH_MODEL"] {
        guard let threads = Int(environment["HARK_LLM_BENCH_THREADS"] ?? "1"), threads > 0 else {
            print("llm: HARK_LLM_BENCH_THREADS must be a positive integer")
            return
        }
        guard FileManager.default.fileExists(atPath: file) else {
            print("llm: HARK_LLM_BENCH_MODEL file not found: \(file)")
            return
        }
        print("llm: kernels \(LLMKernelPath.name)")
        try measure(try LLMModel(url: URL(fileURLWithPath: file)), name: (file as NSString).lastPathComponent,
                    threads: threads, prompt: true, llamaCpp: nil)
        return
    }
    let models = ProcessInfo.processInfo.environment["HARK_MODELS"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models")
    let smol = models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
    let qwen = models.appendingPathComponent("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    guard FileManager.default.fileExists(atPath: smol.path) else {
        print("llm: SmolLM2 not installed at \(smol.path); run scripts/setup")
        return
    }
    print("llm: kernels \(LLMKernelPath.name); ratios are to llama.cpp's numbers measured here")
    let model = try LLMModel(url: smol)
    for threads in [1, 2] {
        try measure(model, name: "SmolLM2-135M Q4_1", threads: threads, prompt: true,
                    llamaCpp: threads == 1 ? (gen: 170, prompt: 268) : (gen: 192, prompt: 505))
    }
    if FileManager.default.fileExists(atPath: qwen.path) {
        try measure(try LLMModel(url: qwen), name: "Qwen2.5-0.5B Q4_K_M", threads: 2, prompt: false,
                    llamaCpp: (gen: 68, prompt: 0))
    } else {
        print("llm: Qwen2.5 not installed (scripts/setup --all); skipped")
    }
    print(String(format: "llm: peak memory %.0f MiB", peakMemoryMiB()))
}

/// `llamaCpp`: llama.cpp's tokens/s on this machine (llama-bench, same file and threads);
/// nil prints no ratios.
private func measure(_ model: LLMModel, name: String, threads: Int, prompt measurePrompt: Bool,
                     llamaCpp: (gen: Double, prompt: Double)?) throws {
    let vocab = model.hyperParameters.vocabularySize
    // A fixed pseudo-random 64-token prompt (the speed does not depend on the text).
    var state: UInt64 = 42
    let prompt = (0..<64).map { _ -> Int in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % min(vocab, 40000) + 100
    }
    let session = try LLMSession(model: model, threads: threads)
    _ = try session.evaluate(Array(prompt.prefix(8))) // warm up pages and threads
    var promptSeconds = Double.infinity, firstToken = Double.infinity
    for _ in 0..<3 {
        session.reset()
        var logits: [Float] = []
        let t = try seconds { logits = try session.evaluate(prompt) }
        promptSeconds = min(promptSeconds, t)
        let first = try seconds { _ = try session.evaluate([argmax(logits)]) }
        firstToken = min(firstToken, t + first)
    }
    var genSeconds = Double.infinity, genCPU = Double.infinity
    for _ in 0..<2 {
        session.reset()
        var logits = try session.evaluate(Array(prompt.prefix(4)))
        let cpu0 = processCPUSeconds()
        let t = try seconds {
            for _ in 0..<64 { logits = try session.evaluate([argmax(logits)]) }
        }
        genSeconds = min(genSeconds, t)
        genCPU = min(genCPU, processCPUSeconds() - cpu0)
    }
    // On a shared machine wall time includes waiting for a core; CPU seconds per token show
    // the kernels' own cost (for 1 thread, 64 / cpu is the rate on an idle core).
    guard let llamaCpp else {
        print("llm: \(name) threads=\(threads): gen \(String(format: "%.1f", 64 / genSeconds)) tok/s"
              + String(format: ", prompt %.1f tok/s (%.2f ms CPU/generated token, time to first token %.1f ms)",
                       64 / promptSeconds, genCPU / 64 * 1000, firstToken * 1000))
        return
    }
    var line = "llm: \(name) threads=\(threads): gen \(String(format: "%.1f", 64 / genSeconds)) tok/s"
        + String(format: " (x%.2f llama.cpp; %.2f ms CPU/token)", 64 / genSeconds / llamaCpp.gen, genCPU / 64 * 1000)
    if measurePrompt {
        line += String(format: ", prompt %.1f tok/s (x%.2f llama.cpp; 64 tokens), time to first token %.1f ms",
                       64 / promptSeconds, 64 / promptSeconds / llamaCpp.prompt, firstToken * 1000)
    }
    print(line)
}

private func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in v.indices where v[i] > v[best] { best = i }
    return best
}
