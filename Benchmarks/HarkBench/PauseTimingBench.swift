import ASR
import Assistant
import Audio
import Foundation
import VAD

/// Where the listener's pause decodes start, against the end of speech (the clip's last loud
/// sample, as `hark-bench assistant` measures it), on the corpus command clips: the last frame
/// the voice detector heard as speech, and the moment `pauseMs` of quiet after it has been
/// captured (chunks of 512 samples, as the bench plays them), and where decodes started as the
/// voice fades (`ListenerConfig.pauseStartThreshold`) end. Deterministic: no timing.
func benchPauseTiming() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let detector = try VoiceActivityDetectors.makeDefault(sileroModel: root.appendingPathComponent("models/silero_vad_16k.safetensors"))
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var clips: [[Float]] = []
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        if fields.count > 6 && fields[5] == "B" && !fields[6].isEmpty {
            clips.append(try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples)
        }
    }
    let config = ListenerConfig.commands
    // Decodes also started on a frame where the probability falls below `pauseStartThreshold`
    // (the listener's rule): where the one that counts ends (no voiced frame after its audio),
    // and how many started in all (the others were cancelled by the next voiced frame).
    // Starting only on the first frame below the threshold, to start fewer, kept little of the
    // gain: the probability often takes two frames to fall (0.88, 0.68, 0.31).
    for startThreshold: Float? in [nil, 0.8, 0.9, 0.95] {
        var lags: [Double] = [], starts = 0
        for clip in clips {
            guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
            let end = 8000 + lastLoud + 1
            let samples = [Float](repeating: 0, count: 8000) + clip + [Float](repeating: 0, count: 32000)
            var endpointer = try Endpointer(detector: detector, config: config.endpointer)
            var lastVoiced = 0, counting: (audioEnd: Int, voicedEnd: Int)?
            for chunkStart in stride(from: 0, to: samples.count, by: 512) {
                let chunk = Array(samples[chunkStart..<min(samples.count, chunkStart + 512)])
                _ = endpointer.process(chunk)
                let position = chunkStart + chunk.count, probability = endpointer.lastProbability
                guard endpointer.isSpeaking else { continue }
                if probability >= config.endpointer.endThreshold { lastVoiced = endpointer.position }
                if let decode = counting, decode.voicedEnd != lastVoiced { counting = nil }
                let quiet = probability < config.endpointer.endThreshold && position - lastVoiced >= config.pauseMs * 16
                if counting == nil && (quiet || probability < startThreshold ?? 0) {
                    counting = (position, lastVoiced)
                    starts += 1
                }
            }
            if let decode = counting { lags.append(Double(decode.audioEnd - end) / 16) }
        }
        let sorted = lags.sorted(), preset = startThreshold == config.pauseStartThreshold ? " (the preset)" : ""
        print(String(format: "decodes start %@%@: the counted one's audio ends p50 %4.0f, p95 %4.0f ms after the end of speech; %d decodes started for %d utterances",
                     startThreshold.map { String(format: "below probability %.2f or after %d ms of quiet", $0, config.pauseMs) } ?? "after \(config.pauseMs) ms of quiet",
                     preset, sorted[sorted.count / 2], sorted[sorted.count * 19 / 20], starts, lags.count))
    }
    for threshold in [config.endpointer.endThreshold, 0.5] {
        var lastVoicedLag: [Double] = [], triggers: [Int: [Double]] = [:], earlier: [Int: Int] = [:]
        for clip in clips {
            guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
            let end = 8000 + lastLoud + 1
            let samples = [Float](repeating: 0, count: 8000) + clip + [Float](repeating: 0, count: 32000)
            var endpointer = try Endpointer(detector: detector, config: config.endpointer)
            var lastVoiced = 0, position = 0
            var quietSince: [Int: Int] = [:]
            for chunkStart in stride(from: 0, to: samples.count, by: 512) {
                let chunk = Array(samples[chunkStart..<min(samples.count, chunkStart + 512)])
                _ = endpointer.process(chunk)
                position = chunkStart + chunk.count
                if endpointer.isSpeaking && endpointer.lastProbability >= threshold {
                    lastVoiced = endpointer.position
                    // Pauses the speaker broke off: decodes of an unfinished utterance.
                    for pauseMs in quietSince.keys { earlier[pauseMs, default: 0] += 1 }
                    quietSince = [:]
                }
                for pauseMs in [32, 64] where endpointer.isSpeaking && quietSince[pauseMs] == nil
                    && endpointer.lastProbability < threshold && position - lastVoiced >= pauseMs * 16 {
                    quietSince[pauseMs] = position
                }
            }
            lastVoicedLag.append(Double(lastVoiced - end) / 16)
            for (pauseMs, at) in quietSince { triggers[pauseMs, default: []].append(Double(at - end) / 16) }
        }
        func line(_ values: [Double]) -> String {
            let sorted = values.sorted()
            return String(format: "p5 %4.0f, p50 %4.0f, p95 %4.0f ms", sorted[sorted.count / 20], sorted[sorted.count / 2], sorted[sorted.count * 19 / 20])
        }
        print("speech ends below probability \(threshold), \(clips.count) corpus command clips:")
        print("  last voiced frame - end of speech:     " + line(lastVoicedLag))
        for pauseMs in [32, 64] {
            print("  pause of \(pauseMs) ms captured - end of speech: " + line(triggers[pauseMs] ?? [0])
                  + ", \(earlier[pauseMs] ?? 0) pauses inside the \(clips.count) utterances")
        }
    }
}

/// Wall time of the fast pause decode and its check on command clips (espeak-ng, 1-3 s): one
/// after the other with the process's threads, the check reading the fast decode's tokens as
/// its draft (as the listener runs them) or not, or side by side with half the cores each.
/// Timed: run it on an idle machine.
func benchPausePair() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let transcriber = try WhisperTranscriber(modelDirectory: root.appendingPathComponent("models/whisper-tiny.en"))
    var clips: [[Float]] = []
    for text in ["what time is it", "set a timer for ten seconds", "convert five miles to kilometers", "cancel the timer"] {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        clips.append([Float](repeating: 0, count: 3200) + (try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000)))
    }
    var fast = ListenerConfig.fastPauseDecodeOptions, check = ListenerConfig.fastPauseCheckOptions
    fast.maxNewTokens = 40
    check.maxNewTokens = 40
    let half = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    var sideFastOptions = fast, sideCheckOptions = check
    sideFastOptions.threads = half
    sideCheckOptions.threads = half
    let sideFast = sideFastOptions, sideCheck = sideCheckOptions
    var alone: [Double] = [], sequential: [Double] = [], sequentialNoDraft: [Double] = [], sideBySide: [Double] = []
    for _ in 0..<5 {
        for clip in clips {
            var start = ContinuousClock.now
            let heard = try transcriber.recognize(clip, options: fast)
            alone.append((ContinuousClock.now - start).seconds)
            var checkWithDraft = check
            checkWithDraft.draftTokens = heard.tokens
            _ = try transcriber.recognize(clip, options: checkWithDraft)
            sequential.append((ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            _ = try transcriber.recognize(clip, options: fast)
            _ = try transcriber.recognize(clip, options: check)
            sequentialNoDraft.append((ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            let a = Task.detached { [clip] in try transcriber.recognize(clip, options: sideFast) }
            let b = Task.detached { [clip] in try transcriber.recognize(clip, options: sideCheck) }
            _ = try await (a.value, b.value)
            sideBySide.append((ContinuousClock.now - start).seconds)
        }
    }
    func line(_ v: [Double]) -> String {
        let s = v.sorted()
        return String(format: "min %3.0f, median %3.0f ms", s[0] * 1000, s[s.count / 2] * 1000)
    }
    print("fast pause decode alone (>= \(fast.shortenedWindowMinimumSeconds) s window): " + line(alone))
    print("fast + check (>= \(check.shortenedWindowMinimumSeconds) s) one after the other, the check's draft the fast one's tokens (the listener's): " + line(sequential))
    print("fast + check one after the other, no draft: " + line(sequentialNoDraft))
    print("fast + check side by side, \(half) thread(s) each:    " + line(sideBySide))
}
