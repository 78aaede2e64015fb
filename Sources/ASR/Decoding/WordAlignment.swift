import Foundation

/// A word of one window's text with its time from the start of the window, in seconds.
struct AlignedWord: Sendable, Equatable {
    var word: String
    var tokens: [Int]
    var start: Double
    var end: Double
    var probability: Float
}

/// Word timing from cross-attention, as Whisper and faster-whisper (CTranslate2 `align`) compute
/// it: the final text of a window is fed once more through the decoder, after
/// `sot [language task] notimestamps` and followed by end of text; the cross-attention
/// weights of the model's alignment heads (config `alignment_heads`) over the audio frames are
/// renormalised over the frames that hold audio, standardised per head and frame across the
/// tokens, median-filtered along time (width 7) and averaged over the heads; a monotonic path
/// through that token x frame matrix (dynamic time warping on its negative) tells at which frame
/// each token starts, and a word starts where its first token's row is entered.
struct WordAligner {
    let session: DecoderSession
    let tokens: WhisperSpecialTokens
    let tokenizer: WhisperTokenizer
    /// (decoder layer, head) pairs.
    let heads: [(layer: Int, head: Int)]
    /// Encoder output positions of the window (1500 for a full 30 s window).
    let encoderFrames: Int

    static let medianFilterWidth = 7
    /// Encoder output positions per second (two mel frames each).
    static let framesPerSecond = 50.0

    /// Words of `text` (text tokens only) with times from the window start; `melFrames` is the
    /// number of mel frames of the window that hold audio. Empty when there is no text.
    func align(startSequence: [Int], text: [Int], melFrames: Int, language: String) throws -> [AlignedWord] {
        let words = tokenizer.splitIntoWords(text, language: language)
        guard !text.isEmpty, !words.isEmpty, !heads.isEmpty else { return [] }
        let frames = min(encoderFrames, melFrames / 2)
        guard frames > 0 else { return [] }
        let input = startSequence + [tokens.noTimestamps] + text + [tokens.endOfText]

        // Cross-attention rows of the alignment heads, one row per input token.
        let recorder = AttentionRecorder(heads: heads, frames: frames)
        session.reset(batch: 1)
        session.crossAttentionObserver = { layer, head, weights, queries in
            recorder.record(layer: layer, head: head, weights: weights, queries: queries, keys: self.encoderFrames)
        }
        defer { session.crossAttentionObserver = nil }
        // Fed token by token after the start sequence: the logits at every text position give
        // each token's probability (softmax over the text vocabulary, as CTranslate2 does).
        var probabilities: [Float] = []
        var logits = try session.forward([Array(input[0...startSequence.count])]).last[0]
        for token in text {
            probabilities.append(Self.textProbability(logits, of: token, textVocabulary: tokens.endOfText))
            logits = try session.forward([[token]]).last[0]
        }
        _ = try session.forward([[tokens.endOfText]])

        let matrix = recorder.alignmentMatrix(rows: input.count, medianWidth: Self.medianFilterWidth)
        // Rows of `notimestamps` and the text tokens (not the start sequence nor end of text).
        let first = startSequence.count
        let rows = text.count + 1
        let slice = Array(matrix[(first * frames)..<((first + rows) * frames)])
        let path = Self.negativeDTW(slice, rows: rows, columns: frames)
        let jumpTimes = Self.jumpTimes(path)

        var aligned: [AlignedWord] = []
        var boundary = 0
        for word in words {
            let next = boundary + word.tokens.count
            guard next < jumpTimes.count else { break }
            let probability = probabilities[boundary..<next].reduce(0, +) / Float(max(1, next - boundary))
            aligned.append(AlignedWord(word: word.text, tokens: word.tokens, start: jumpTimes[boundary],
                                       end: jumpTimes[next], probability: probability))
            boundary = next
        }
        return aligned
    }

    static func textProbability(_ logits: [Float], of token: Int, textVocabulary: Int) -> Float {
        let count = min(textVocabulary, logits.count)
        guard token < count else { return 0 }
        var maximum = -Float.infinity
        for i in 0..<count where logits[i] > maximum { maximum = logits[i] }
        var sum: Float = 0
        for i in 0..<count { sum += expf(logits[i] - maximum) }
        return expf(logits[token] - maximum) / sum
    }

    /// The times (s) at which the path enters each row: one per row, in row order.
    static func jumpTimes(_ path: [(row: Int, column: Int)]) -> [Double] {
        var times: [Double] = []
        for (k, step) in path.enumerated() where k == 0 || step.row != path[k - 1].row {
            times.append(Double(step.column) / framesPerSecond)
        }
        return times
    }

    /// The cheapest monotonic path from (0, 0) to (rows - 1, columns - 1) through `-matrix`
    /// (row-major), moving down, right or diagonally. Ties go to the horizontal step, then
    /// the vertical one, as in openai-whisper and CTranslate2.
    static func negativeDTW(_ matrix: [Float], rows n: Int, columns m: Int) -> [(row: Int, column: Int)] {
        guard n > 0, m > 0 else { return [] }
        let width = m + 1
        var cost = [Float](repeating: .infinity, count: (n + 1) * width)
        var trace = [UInt8](repeating: 0, count: (n + 1) * width)
        cost[0] = 0
        for j in 1...m {
            for i in 1...n {
                let diagonal = cost[(i - 1) * width + j - 1]
                let up = cost[(i - 1) * width + j]
                let left = cost[i * width + j - 1]
                let best: Float
                let step: UInt8
                if diagonal < up && diagonal < left {
                    (best, step) = (diagonal, 0)
                } else if up < diagonal && up < left {
                    (best, step) = (up, 1)
                } else {
                    (best, step) = (left, 2)
                }
                cost[i * width + j] = best - matrix[(i - 1) * m + (j - 1)]
                trace[i * width + j] = step
            }
        }
        for k in 0...m { trace[k] = 2 }
        for k in 0...n { trace[k * width] = 1 }
        var path: [(row: Int, column: Int)] = []
        var i = n, j = m
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * width + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        // The walk ends on the border (row or column -1) only for degenerate input; drop it.
        return path.reversed().filter { $0.row >= 0 && $0.column >= 0 }
    }

    /// Median of each `width` window along `values` (reflecting at the ends, without repeating
    /// the edge), as scipy/PyTorch and CTranslate2 do. Shorter inputs are returned unchanged.
    static func medianFilter(_ values: [Float], width: Int) -> [Float] {
        let half = width / 2
        let count = values.count
        guard count > half else { return values }
        var out = values
        var window = [Float](repeating: 0, count: width)
        for j in 0..<count {
            for k in -half...half {
                var read = abs(j + k)
                if read >= count { read = count - (read - count) - 2 }
                window[k + half] = values[read]
            }
            window.sort()
            out[j] = window[half]
        }
        return out
    }
}

/// Collects the cross-attention rows of the alignment heads while the decoder runs, and turns
/// them into the averaged, filtered token x frame matrix.
final class AttentionRecorder {
    private let headIndex: [Int: Int]   // layer * 1000 + head -> position in `heads`
    private let frames: Int
    private var rows: [[Float]]          // per alignment head: rows of `frames` weights, appended

    init(heads: [(layer: Int, head: Int)], frames: Int) {
        var index: [Int: Int] = [:]
        for (i, pair) in heads.enumerated() { index[pair.layer * 1000 + pair.head] = i }
        headIndex = index
        self.frames = frames
        rows = heads.map { _ in [] }
    }

    func record(layer: Int, head: Int, weights: UnsafePointer<Float>, queries: Int, keys: Int) {
        guard let index = headIndex[layer * 1000 + head] else { return }
        for q in 0..<queries {
            let row = weights + q * keys
            // Softmax over the audio frames only: renormalise the weights of those frames.
            var sum: Float = 0
            for f in 0..<frames { sum += row[f] }
            let scale = sum > 0 ? 1 / sum : 0
            for f in 0..<frames { rows[index].append(row[f] * scale) }
        }
    }

    /// [rows, frames] row-major: per head, each frame standardised across the tokens (zero mean,
    /// unit variance), then median-filtered along time; then the mean over the heads.
    func alignmentMatrix(rows count: Int, medianWidth: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: count * frames)
        for head in rows {
            precondition(head.count == count * frames, "one attention row per input token")
            var standardised = head
            for f in 0..<frames {
                var sum: Double = 0, squares: Double = 0
                for r in 0..<count { let v = Double(head[r * frames + f]); sum += v; squares += v * v }
                let average = sum / Double(count)
                let variance = max(0, squares / Double(count) - average * average)
                let deviation = variance.squareRoot()
                for r in 0..<count {
                    standardised[r * frames + f] = deviation > 0 ? Float((Double(head[r * frames + f]) - average) / deviation) : 0
                }
            }
            for r in 0..<count {
                let filtered = WordAligner.medianFilter(Array(standardised[(r * frames)..<((r + 1) * frames)]), width: medianWidth)
                for f in 0..<frames { mean[r * frames + f] += filtered[f] }
            }
        }
        let scale = 1 / Float(max(1, rows.count))
        return mean.map { $0 * scale }
    }
}

/// faster-whisper's clean-up of word times (`add_word_timestamps`): words at sentence ends and
/// after pauses are kept at most twice the median word length, punctuation joins its word,
/// and segment times follow their first and last words.
enum WordTimingAdjustment {
    static let sentenceEndMarks = ".。!！?？"
    static let prependedPunctuation = "\"'“¿([{-"
    static let appendedPunctuation = "\"'.。,，!！?？:：”)]}、"

    /// Python's `a in b` for strings: a substring test, true for "".
    static func isIn(_ text: String, _ set: String) -> Bool { text.isEmpty || set.contains(text) }

    /// The median non-zero word length (at most 0.7 s) and twice it.
    static func durationLimits(_ words: [AlignedWord]) -> (median: Double, max: Double) {
        let durations = words.map { $0.end - $0.start }.filter { $0 != 0 }.sorted()
        guard !durations.isEmpty else { return (0, 0) }
        let middle = durations.count / 2
        let median = durations.count % 2 == 1 ? durations[middle] : (durations[middle - 1] + durations[middle]) / 2
        let limited = min(0.7, median)
        return (limited, 2 * limited)
    }

    /// Shortens over-long words next to sentence ends, then merges punctuation into words.
    static func adjust(_ words: inout [AlignedWord], maxDuration: Double) {
        if words.contains(where: { $0.end - $0.start != 0 }) {
            for i in words.indices.dropFirst() where words[i].end - words[i].start > maxDuration {
                if isIn(words[i].word, sentenceEndMarks) {
                    words[i].end = words[i].start + maxDuration
                } else if isIn(words[i - 1].word, sentenceEndMarks) {
                    words[i].start = words[i].end - maxDuration
                }
            }
        }
        mergePunctuation(&words)
    }

    /// Opening punctuation (with its space) moves onto the next word, closing punctuation onto
    /// the previous one; the emptied entries stay with no text and no tokens.
    static func mergePunctuation(_ words: inout [AlignedWord]) {
        guard words.count >= 2 else { return }
        var i = words.count - 2, j = words.count - 1
        while i >= 0 {
            let stripped = words[i].word.trimmingCharacters(in: .whitespacesAndNewlines)
            if words[i].word.hasPrefix(" ") && isIn(stripped, prependedPunctuation) {
                words[j].word = words[i].word + words[j].word
                words[j].tokens = words[i].tokens + words[j].tokens
                words[i].word = ""
                words[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0; j = 1
        while j < words.count {
            if !words[i].word.hasSuffix(" ") && isIn(words[j].word, appendedPunctuation) {
                words[i].word += words[j].word
                words[i].tokens += words[j].tokens
                words[j].word = ""
                words[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// Seconds rounded to 10 ms (ties to even, like Python's `round(x, 2)` in most cases).
    static func round2(_ seconds: Double) -> Double { (seconds * 100).rounded(.toNearestOrEven) / 100 }

    /// Hands the window's aligned words to its segments (by their text token counts), clamps
    /// long first and last words, and moves each segment's start and end to its words.
    /// - Returns: the words of each segment; `lastSpeech` becomes the end of the last segment
    ///   that has words.
    static func distribute(_ aligned: [AlignedWord], limits: (median: Double, max: Double),
                           segments: inout [(start: Double, end: Double, tokens: [Int])],
                           timeOffset: Double, endOfText: Int, lastSpeech: inout Double) -> [[TranscriptWord]] {
        var wordIndex = 0
        var result: [[TranscriptWord]] = []
        for s in segments.indices {
            let textCount = segments[s].tokens.filter { $0 < endOfText }.count
            var saved = 0
            var words: [TranscriptWord] = []
            while wordIndex < aligned.count && saved < textCount {
                let timing = aligned[wordIndex]
                if !timing.word.isEmpty {
                    words.append(TranscriptWord(start: round2(timeOffset + timing.start), end: round2(timeOffset + timing.end),
                                                word: timing.word, probability: timing.probability))
                }
                saved += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                let (median, maxDuration) = limits
                // After a pause, the first word (or the first two) should not be over-long.
                if words[0].end - lastSpeech > median * 4 &&
                    (words[0].end - words[0].start > maxDuration
                     || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2)) {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary
                        words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                // Prefer the segment's own start when the first word is too long.
                if segments[s].start < words[0].end && segments[s].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, segments[s].start))
                } else {
                    segments[s].start = words[0].start
                }
                // Prefer the segment's own end when the last word is too long.
                let last = words.count - 1
                if segments[s].end > words[last].start && segments[s].end + 0.5 < words[last].end {
                    words[last].end = max(words[last].start + median, segments[s].end)
                } else {
                    segments[s].end = words[last].end
                }
                lastSpeech = segments[s].end
            }
            result.append(words)
        }
        return result
    }
}
