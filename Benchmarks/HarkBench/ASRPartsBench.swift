import ASR
import Audio
import CKernels
import COpenBLAS
import Foundation

/// Where the careful decode of a short command goes (tiny.en, beam 5, full 30 s window, the
/// transcriber's default rules): the log-mel, the encoder, the decoder session's set-up (the
/// cross-attention keys and values of every layer) and the window decode, each timed apart, and
/// the whole `transcribe` call. `HARK_BENCH_REPEAT` sets the rounds (default 10).
func benchASRParts() async throws {
    let threads = Int(ProcessInfo.processInfo.environment["HARK_THREADS"] ?? "2") ?? 2
    let rounds = Int(ProcessInfo.processInfo.environment["HARK_BENCH_REPEAT"] ?? "10") ?? 10
    openblas_set_num_threads(Int32(threads))
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let transcriber = try WhisperTranscriber(modelDirectory: root.appendingPathComponent("models/whisper-tiny.en"))
    let model = transcriber.model
    let tokens = transcriber.specialTokens
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let sentence = try AudioClip.load(corpus.appendingPathComponent("A_dictation/pocketsphinx__librivox_sense_and_sensibility_0880.wav").path)
    let features = LogMelSpectrogram(melBins: model.dimensions.melBins)
    let filters = LogitFilters(tokens: tokens, suppress: model.config.suppressIDs, suppressAtBegin: model.config.suppressIDsBegin,
                               timestamps: true, maxInitialTimestampIndex: 50)
    var phases = PhaseTimes()
    // HARK_BENCH_WINDOWS_ONLY: only the short windows (for profiling and A/B runs of the encoder).
    let windowsOnly = ProcessInfo.processInfo.environment["HARK_BENCH_WINDOWS_ONLY"] != nil
    // Decoder steps alone (the asr bench's loop): ms per step with 1 and 5 hypotheses.
    let encodedJFK = try model.encode(mel: Array(features.compute(sentence.samples, padToSeconds: 30).values), frames: 3000)
    for batch in windowsOnly ? [] : [1, 5] {
        let session = DecoderSession(model: model, encoderOutput: encodedJFK)
        var perStep: [Double] = []
        for _ in 0..<max(3, rounds / 3) {
            session.reset(batch: batch)
            _ = try session.forward([[Int]](repeating: [tokens.startOfTranscript, tokens.noTimestamps], count: batch))
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<100 { _ = try session.forward([[Int]](repeating: [440 + i], count: batch)) }
            perStep.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / 100)
        }
        perStep.sort()
        print(String(format: "decoder step, %d hypotheses: min %.3f median %.3f ms", batch, perStep[0], perStep[perStep.count / 2]))
    }
    if ProcessInfo.processInfo.environment["HARK_BENCH_STEPS_ONLY"] != nil { return }
    // The pause decodes' shortened windows (`ListenerConfig.fastPauseDecodeOptions` and its
    // check): log-mel and encoder of a 1 s command on 1 thread and on `threads`.
    let command = Array(sentence.samples.prefix(16_000))
    for seconds in [6, 10] {
        for count in Set([1, threads]).sorted() {
            hark_workers_set_caller_threads(Int32(count))
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = DispatchTime.now().uptimeNanoseconds
                let mel = features.compute(command, padToSeconds: Double(seconds))
                let encoded = try model.encode(mel: Array(mel.values.prefix(mel.bins * seconds * 100)), frames: seconds * 100)
                _ = DecoderSession(model: model, encoderOutput: encoded)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            print(String(format: "%2d s window, %d thread(s): log-mel + encoder + cross K/V min %.1f median %.1f ms", seconds, count, times[0], times[times.count / 2]))
        }
    }
    hark_workers_set_caller_threads(Int32(threads))
    if windowsOnly { return }
    var steps = 0
    for _ in 0..<rounds {
        let mel = phases.time("log-mel") { features.compute(sentence.samples, padToSeconds: 30) }
        let encoded = try phases.time("encoder") { try model.encode(mel: Array(mel.values.prefix(mel.bins * 3000)), frames: 3000) }
        let session = phases.time("session set-up (cross K/V)") { DecoderSession(model: model, encoderOutput: encoded) }
        let decoder = WindowDecoder(session: session, tokens: tokens)
        let result = try phases.time("window decode, beam 5") {
            try decoder.decode(prompt: [tokens.startOfTranscript], options: WindowDecodingOptions(beamSize: 5, filters: filters))
        }
        steps = session.length
        _ = result
        var options = TranscriptionOptions.default
        options.beamSize = 5
        _ = try phases.time("transcribe, beam 5 (whole call)") { try transcriber.transcribeSync(sentence.samples, options: options) }
    }
    print("3 s sentence, \(rounds) rounds, \(steps) decoder positions, threads=\(threads) (ms, min / median):")
    phases.report(["log-mel", "encoder", "session set-up (cross K/V)", "window decode, beam 5", "transcribe, beam 5 (whole call)"])
}
