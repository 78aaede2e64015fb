import Foundation
import LLM

/// Tokenizer load time and encode/decode throughput on SmolLM2's vocabulary (and Qwen2.5's when
/// installed), on a mixed English/code/unicode text of about 100 kB, cold cache and warm cache.
func benchTokenizer() throws {
    let models = ProcessInfo.processInfo.environment["HARK_MODELS"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models")
    let paragraph = """
        The quick brown fox jumps over the lazy dog. It's 12:45 and 1,234,567 people said "hello"! \
        func fibonacci(_ n: Int) -> Int { n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2) }
        Café, naïve, Zürich, こんにちは世界, 你好，世界, Привет мир 🙂🚀 \t  indented\n\n
        """
    var text = ""
    var i = 0
    while text.utf8.count < 100_000 {
        text += paragraph + " item \(i * 7919)\n"
        i += 1
    }
    for name in ["SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"] {
        let url = models.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            print("\(name): not installed, skipped")
            continue
        }
        var tokenizer: (any LLMTokenizer)?
        let load = try seconds { tokenizer = try TokenizerFactory.make(from: GGUFFile(url: url)) }
        let t = tokenizer!
        var ids: [Int32] = []
        let cold = seconds { ids = t.encode(text, addBOS: false, parseSpecial: true) }
        let warm = bestOf(3) { ids = t.encode(text, addBOS: false, parseSpecial: true) }
        var decoded = ""
        let decode = bestOf(3) { decoded = t.decode(ids) }
        let mb = Double(text.utf8.count) / 1e6
        print(String(format: "%@: load %.3f s; encode %d bytes -> %d tokens: cold %.1f MB/s, warm %.1f MB/s (%.0f tokens/ms); decode %.1f MB/s; round trip %@",
                     name, load, text.utf8.count, ids.count, mb / cold, mb / warm, Double(ids.count) / warm / 1000, mb / decode,
                     decoded == text ? "ok" : "MISMATCH"))
    }
}
