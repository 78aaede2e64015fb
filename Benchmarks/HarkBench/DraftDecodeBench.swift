import ASR
import Assistant
import Audio
import CKernels
import Foundation

/// What a draft (`TranscriptionOptions.draftTokens`) saves the listener's fast pause decode
/// (`ListenerConfig.fastPauseDecodeOptions`, bounded like the listener bounds it) on espeak-ng
/// commands of 1-4 s ending 100 ms after their last loud sample: plain greedy; with the draft a
/// partial gives (the partial options' decode of the audio cut 0.4 s earlier, the listener's
/// partial interval); with a perfect draft (the plain decode's own tokens); at 1 and 2 threads.
/// Then the check (`fastPauseCheckOptions`, window >= 10 s) as the listener runs it after the
/// fast decode: plain, with the fast decode's tokens as its draft, and with its own. Modes are
/// interleaved round by round (a shared machine). Then where the time of one 1-thread decode goes. `HARK_BENCH_REPEAT` sets the rounds (default 9).
func benchDraftDecode() async throws {
    let rounds = Int(ProcessInfo.processInfo.environment["HARK_BENCH_REPEAT"] ?? "9") ?? 9
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let transcriber = try WhisperTranscriber(modelDirectory: root.appendingPathComponent("models/whisper-tiny.en"))
    let config = ListenerConfig.commands
    let sampleRate = WhisperTranscriber.sampleRate
    let texts = ["what time is it", "cancel the timer", "set a timer for ten seconds", "what is twelve times fourteen",
                 "convert five miles to kilometers", "make me a double shot medium roast cappuccino with a lot of cream"]
    struct Clip { let text: String; let samples: [Float]; let partial: [Int]; let laterPartial: [Int] }
    var clips: [Clip] = []
    for text in texts {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        let speech = try Resampler.resample(voice.samples, from: voice.sampleRate, to: sampleRate)
        guard let lastLoud = speech.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
        // The pause decode's audio: from shortly before the speech to just after it.
        let samples = [Float](repeating: 0, count: sampleRate / 5) + speech.prefix(min(speech.count, lastLoud + sampleRate / 10))
        // The last partial before the pause ended 0-0.4 s before it (partials every 0.4 s).
        let partials = try [2 * sampleRate / 5, sampleRate / 5].map { cut in
            let earlier = Array(samples.dropLast(cut))
            let options = config.bounded(config.partialOptions, samples: earlier.count, sampleRate: sampleRate)
            return try transcriber.transcribeSync(earlier, options: options).segments.flatMap(\.tokens)
        }
        clips.append(Clip(text: text, samples: samples, partial: partials[0], laterPartial: partials[1]))
    }

    func options(_ base: TranscriptionOptions, _ clip: Clip, threads: Int, draft: [Int]?) -> TranscriptionOptions {
        var o = config.bounded(base, samples: clip.samples.count, sampleRate: sampleRate)
        o.threads = threads
        o.draftTokens = draft
        return o
    }
    func ms(_ body: () throws -> Void) rethrows -> Double { try seconds(body) * 1000 }
    func summary(_ values: [Double]) -> String {
        let sorted = values.sorted()
        return String(format: "%6.1f %6.1f", sorted[0], sorted[sorted.count / 2])
    }

    print("fast pause decode (greedy, no timestamps, window >= 6 s), \(rounds) rounds, ms min / median; machine shared")
    print("draft agreement: tokens of the partials' drafts (audio cut 0.4 s / 0.2 s earlier) that begin the plain decode")
    var perfect: [[Int]] = []
    for clip in clips {
        let plain = try transcriber.transcribeSync(clip.samples, options: options(config.pauseOptions!, clip, threads: 1, draft: nil))
        let tokens = plain.segments.flatMap(\.tokens)
        perfect.append(tokens)
        print("  \(clip.text.prefix(40).padding(toLength: 40, withPad: " ", startingAt: 0)) \"\(plain.text)\": \(tokens.count) tokens")
        for (name, partial) in [("0.4 s", clip.partial), ("0.2 s", clip.laterPartial)] {
            let agree = zip(partial, tokens).prefix { $0 == $1 }.count
            print("    partial \(name) earlier: \(partial.count) tokens, \(agree) agree (\"\(transcriber.tokenizer.decode(partial).trimmingCharacters(in: .whitespaces))\")")
        }
    }

    // Times each mode's decode of every clip, the modes interleaved round by round, and prints
    // min / median per command and of the mean over commands.
    func compare(_ title: String, _ base: TranscriptionOptions, _ modes: [(String, (Int) -> [Int]?)], threads: Int) throws {
        var times: [String: [[Double]]] = [:]   // mode -> clip -> rounds
        for _ in 0..<rounds {
            for (index, clip) in clips.enumerated() {
                for (mode, draft) in modes {
                    let o = options(base, clip, threads: threads, draft: draft(index))
                    let t = try ms { _ = try transcriber.transcribeSync(clip.samples, options: o) }
                    times[mode, default: Array(repeating: [], count: clips.count)][index].append(t)
                }
            }
        }
        print(title)
        for (index, clip) in clips.enumerated() {
            let row = modes.map { summary(times[$0.0]![index]) }.joined(separator: " | ")
            print("  \(clip.text.prefix(40).padding(toLength: 40, withPad: " ", startingAt: 0)) \(row)")
        }
        // Round totals over the commands: a typical command's share of each mode.
        let totals = modes.map { mode in (0..<rounds).map { r in clips.indices.map { times[mode.0]![$0][r] }.reduce(0, +) / Double(clips.count) } }
        print("  mean over commands                       " + totals.map(summary).joined(separator: " | "))
    }

    let modes: [(String, (Int) -> [Int]?)] = [("plain", { _ in nil }), ("partial 0.4 s", { clips[$0].partial }),
                                               ("partial 0.2 s", { clips[$0].laterPartial }), ("perfect draft", { perfect[$0] })]
    for threads in [1, 2] {
        try compare("threads=\(threads): per command (\(modes.map(\.0).joined(separator: " | ")))", config.pauseOptions!, modes, threads: threads)
    }

    // The check (window >= 10 s) runs after the fast decode on every core, with the fast
    // decode's tokens as its draft (the listener since e04b5de).
    var checkAnswers: [[Int]] = []
    for (index, clip) in clips.enumerated() {
        let check = try transcriber.transcribeSync(clip.samples, options: options(config.pauseCheckOptions!, clip, threads: 2, draft: nil))
        let tokens = check.segments.flatMap(\.tokens)
        checkAnswers.append(tokens)
        let agree = zip(perfect[index], tokens).prefix { $0 == $1 }.count
        print("check \"\(check.text)\": \(tokens.count) tokens, \(agree) begin like the fast decode's \(perfect[index].count)")
    }
    let checkModes: [(String, (Int) -> [Int]?)] = [("plain", { _ in nil }), ("fast decode's draft", { perfect[$0] }),
                                                    ("perfect draft", { checkAnswers[$0] })]
    for threads in [2, 1] {
        try compare("check decode (window >= 10 s), threads=\(threads): " + checkModes.map(\.0).joined(separator: " | "),
                    config.pauseCheckOptions!, checkModes, threads: threads)
    }

    try benchDraftDecodeSplit(transcriber: transcriber, clip: clips.last!.samples, text: clips.last!.text, answer: perfect.last!, rounds: rounds)
}

/// Where one 1-thread fast pause decode goes: log-mel, encoder (6 s window), the session's
/// cross-attention keys and values, the prompt, one greedy step, and one pass over n draft
/// tokens against n steps.
private func benchDraftDecodeSplit(transcriber: WhisperTranscriber, clip: [Float], text: String, answer: [Int], rounds: Int) throws {
    let previous = hark_workers_caller_threads()
    hark_workers_set_caller_threads(1)
    defer { hark_workers_set_caller_threads(previous) }
    let model = transcriber.model
    let tokens = transcriber.specialTokens
    let features = LogMelSpectrogram(melBins: model.dimensions.melBins)
    let frames = 600
    var phases = PhaseTimes()
    let prompt = [tokens.startOfTranscript, tokens.noTimestamps]
    for _ in 0..<rounds {
        let mel = phases.time("log-mel") { features.compute(clip + [Float](repeating: 0, count: LogMelSpectrogram.hopLength), padToSeconds: nil) }
        // The window: the first `frames` columns, zero-padded, bin-major (as the transcriber cuts it).
        var window = [Float](repeating: 0, count: mel.bins * frames)
        let used = min(frames, mel.frames - 1)
        for bin in 0..<mel.bins { for f in 0..<used { window[bin * frames + f] = mel.values[bin * mel.frames + f] } }
        let encoded = try phases.time("encoder (6 s window)") { try model.encode(mel: window, frames: frames) }
        let session = phases.time("session set-up (cross K/V)") { DecoderSession(model: model, encoderOutput: encoded) }
        _ = try phases.time("prompt (2 tokens)") { try session.forward([prompt]) }
        let start = DispatchTime.now().uptimeNanoseconds
        for token in answer { _ = try session.forward([[token]]) }
        let stepsMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        phases.add("\(answer.count) steps, one token each", milliseconds: stepsMilliseconds)
        phases.add("per step", milliseconds: stepsMilliseconds / Double(answer.count))
        session.truncate(to: prompt.count)
        _ = try phases.time("one pass over the \(answer.count) tokens") { try session.forwardAll(answer) }
    }
    print("one fast pause decode at 1 thread, \"\(text)\" (\(answer.count) tokens), ms min / median:")
    phases.report(["log-mel", "encoder (6 s window)", "session set-up (cross K/V)", "prompt (2 tokens)", "per step",
                 "\(answer.count) steps, one token each", "one pass over the \(answer.count) tokens"])
}
