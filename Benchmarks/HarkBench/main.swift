import Foundation

// Release-build benchmarks: `scripts/bench [area...]` runs `swift run -c release hark-bench AREA`.
// Each area registers one entry here and lives in its own file.
let benchmarks: [(name: String, run: () async throws -> Void)] = [
    ("audio", benchAudio),
    ("asr", benchASR),
    ("asr-parts", benchASRParts),
    ("vad", benchVAD),
    ("mel", benchMel),
    ("llm", benchLLM),
    ("tokenizer", benchTokenizer),
    ("listen", benchListen),
    ("listen-fast", benchListenFast),
    ("listen-wer", benchListenWER),
    ("listen-options", benchListenOptions),
    ("assistant", benchAssistant),
    ("assistant-agreement", benchAssistantAgreement),
    ("pause-decode", benchPauseDecode),
    ("pause-cuts", benchPauseCuts),
    ("pause-timing", benchPauseTiming),
    ("pause-pair", benchPausePair),
    ("draft-decode", benchDraftDecode),
]

let requested = Array(CommandLine.arguments.dropFirst())
let selected = requested.isEmpty ? benchmarks : benchmarks.filter { requested.contains($0.name) }
if selected.isEmpty {
    FileHandle.standardError.write("unknown benchmark \(requested); known: \(benchmarks.map(\.name))\n".data(using: .utf8)!)
    exit(2)
}
for bench in selected {
    print("== \(bench.name)")
    try await bench.run()
}
