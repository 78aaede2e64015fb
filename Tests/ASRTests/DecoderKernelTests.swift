import CKernels
import Foundation
import HarkTestSupport
import Testing

/// The decoder-step kernels (CKernels/decoder.c) against plain double-precision references, on
/// every path this CPU can run (portable C, AVX2, AVX-512), for shapes that are not multiples of
/// the panels and vector widths, with row strides wider than the rows, one and two threads.
/// Also checks that the thread count does not change a single bit. Serialized: forcing a path is
/// process-wide.
@Suite(.serialized) struct DecoderKernelTests {
    static var availablePaths: [Int32] {
        [Int32(HARK_DEC_PORTABLE), Int32(HARK_DEC_AVX2), Int32(HARK_DEC_AVX512)].filter { hark_dec_path_available($0) != 0 }
    }

    /// Random half floats of magnitude 2^-6 ... 2 (any sign), as bits.
    static func halves(_ count: Int, _ rng: inout SplitMix64) -> [UInt16] {
        (0..<count).map { _ in
            let sign = UInt16(rng.next() & 1) << 15
            let exponent = UInt16(9 + rng.next() % 7) << 10
            return sign | exponent | UInt16(rng.next() & 0x3ff)
        }
    }

    static func floats(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    static func widen(_ h: [UInt16]) -> [Float] {
        var out = [Float](repeating: 0, count: h.count)
        hark_f16_to_f32(h, &out, h.count)
        return out
    }

    static func close(_ a: Float, _ b: Float, _ tolerance: Float = 1e-4) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(b))
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    @Test func linearMatchesTheReferenceOnEveryPath() {
        defer { hark_dec_force_path(-1) }
        var rng = SplitMix64(seed: 11)
        // (m, n, k): one row, a beam of rows, more than 8 rows (several row blocks), a partial panel.
        let shapes = [(1, 32, 16), (1, 100, 37), (3, 64, 384), (5, 70, 33), (8, 33, 64), (11, 97, 130), (2, 1, 7)]
        for path in Self.availablePaths {
            hark_dec_force_path(path)
            #expect(hark_dec_path() == path)
            for (m, n, k) in shapes {
                let w = Self.halves(n * k, &rng)
                let wf = Self.widen(w)
                var packed = [UInt16](repeating: 0xffff, count: hark_dec_packed_count(n, k))
                hark_dec_pack(w, n, k, &packed)
                let ldx = k + 3, ldy = n + 2
                let x = Self.floats(m * ldx, &rng)
                let bias = Self.floats(n, &rng)
                let y0 = Self.floats(m * ldy, &rng)
                for (accumulate, gelu, withBias) in [(false, false, true), (true, false, true), (false, true, true), (false, false, false)] {
                    var results: [[Float]] = []
                    for threads: Int32 in [1, 2] {
                        var y = y0
                        hark_dec_linear(packed, n, k, withBias ? bias : nil, x, ldx, m, &y, ldy,
                                        accumulate ? 1 : 0, gelu ? 1 : 0, threads)
                        results.append(y)
                        var worst: Float = 0
                        var allClose = true
                        for r in 0..<m {
                            for c in 0..<n {
                                var sum = 0.0
                                for i in 0..<k { sum += Double(x[r * ldx + i]) * Double(wf[c * k + i]) }
                                if withBias { sum += Double(bias[c]) }
                                if accumulate { sum += Double(y0[r * ldy + c]) }
                                if gelu { sum = Self.gelu(sum) }
                                let got = y[r * ldy + c]
                                if !Self.close(got, Float(sum)) { allClose = false; worst = max(worst, abs(got - Float(sum))) }
                            }
                            // The padding after each row is untouched.
                            #expect(y[r * ldy + n] == y0[r * ldy + n])
                        }
                        #expect(allClose, "path \(path) m=\(m) n=\(n) k=\(k) acc=\(accumulate) gelu=\(gelu) threads=\(threads): worst \(worst)")
                    }
                    #expect(results[0] == results[1], "path \(path): the thread count changed the result")
                }
            }
        }
    }

    @Test func logitsMatchTheReferenceOnEveryPath() {
        defer { hark_dec_force_path(-1) }
        var rng = SplitMix64(seed: 12)
        for path in Self.availablePaths {
            hark_dec_force_path(path)
            for (vocab, d, m) in [(1, 16, 1), (7, 19, 1), (103, 64, 5), (64, 384, 3), (33, 40, 9)] {
                let w = Self.halves(vocab * d, &rng)
                let wf = Self.widen(w)
                let x = Self.floats(m * d, &rng)
                let ldo = vocab + 1
                var results: [[Float]] = []
                for threads: Int32 in [1, 2] {
                    var out = [Float](repeating: 7, count: m * ldo)
                    hark_dec_logits(w, vocab, d, x, m, &out, ldo, threads)
                    results.append(out)
                    var allClose = true
                    for r in 0..<m {
                        for v in 0..<vocab {
                            var sum = 0.0
                            for c in 0..<d { sum += Double(wf[v * d + c]) * Double(x[r * d + c]) }
                            if !Self.close(out[r * ldo + v], Float(sum)) { allClose = false }
                        }
                        #expect(out[r * ldo + vocab] == 7)
                    }
                    #expect(allClose, "path \(path) vocab=\(vocab) d=\(d) m=\(m) threads=\(threads)")
                }
                #expect(results[0] == results[1], "path \(path): the thread count changed the logits")
            }
        }
    }

    /// Attention with transposed keys, per-group caches and a causal mask, against the textbook
    /// softmax(q k^T * scale) v.
    @Test func attentionMatchesTheReferenceOnEveryPath() {
        defer { hark_dec_force_path(-1) }
        var rng = SplitMix64(seed: 13)
        for path in Self.availablePaths {
            hark_dec_force_path(path)
            // (groups, heads, rows, keys, headDim, causal)
            for (groups, heads, rows, keys, hd, causal) in [(1, 2, 1, 1, 64, false), (2, 3, 3, 37, 64, true),
                                                          (1, 6, 10, 1500, 64, false), (3, 2, 1, 50, 24, false),
                                                          (2, 2, 4, 70, 64, true)] {
                let ldkt = keys + 5, d = heads * hd, ldq = d + 3
                let ktHead = hd * ldkt, vHead = keys * hd
                let ktGroup = heads * ktHead, vGroup = heads * vHead
                let q = Self.floats(groups * rows * ldq, &rng)
                let kt = Self.floats(groups * ktGroup, &rng)
                let v = Self.floats(groups * vGroup, &rng)
                let valid: [Int32]? = causal ? (0..<rows).map { Int32(keys - rows + $0 + 1) } : nil
                let scale: Float = 0.125
                var results: [[Float]] = []
                for threads: Int32 in [1, 2] {
                    var scores = [Float](repeating: .nan, count: groups * heads * rows * keys)
                    var out = [Float](repeating: 0, count: groups * rows * d)
                    q.withUnsafeBufferPointer { qp in kt.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                    scores.withUnsafeMutableBufferPointer { sp in out.withUnsafeMutableBufferPointer { op in
                        func run(_ validPointer: UnsafePointer<Int32>?) {
                            var job = hark_dec_attention_job(
                                groups: groups, heads: heads, rows: rows, keys: keys, head_dim: hd, scale: scale,
                                q: qp.baseAddress, q_group: rows * ldq, ldq: ldq,
                                kt: kp.baseAddress, kt_group: ktGroup, kt_head: ktHead, ldkt: ldkt,
                                v: vp.baseAddress, v_group: vGroup, v_head: vHead,
                                valid: validPointer, scores: sp.baseAddress, out: op.baseAddress, out_group: rows * d, ldo: d)
                            hark_dec_attention(&job, threads)
                        }
                        if let valid { valid.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                    } } } } }
                    results.append(out + scores)
                    var allClose = true
                    for g in 0..<groups {
                        for h in 0..<heads {
                            for r in 0..<rows {
                                let seen = valid.map { Int($0[r]) } ?? keys
                                var logits = [Double](repeating: 0, count: keys)
                                for f in 0..<seen {
                                    var sum = 0.0
                                    for j in 0..<hd { sum += Double(q[g * rows * ldq + r * ldq + h * hd + j]) * Double(kt[g * ktGroup + h * ktHead + j * ldkt + f]) }
                                    logits[f] = sum * Double(scale)
                                }
                                let maximum = logits[0..<seen].max()!
                                let e = (0..<seen).map { exp(logits[$0] - maximum) }
                                let total = e.reduce(0, +)
                                let weights = e.map { $0 / total }
                                let s = scores[((g * heads + h) * rows + r) * keys..<((g * heads + h) * rows + r + 1) * keys]
                                for f in 0..<keys where !Self.close(s[s.startIndex + f], f < seen ? Float(weights[f]) : 0, 1e-5) { allClose = false }
                                for j in 0..<hd {
                                    var sum = 0.0
                                    for f in 0..<seen { sum += weights[f] * Double(v[g * vGroup + h * vHead + f * hd + j]) }
                                    if !Self.close(out[g * rows * d + r * d + h * hd + j], Float(sum)) { allClose = false }
                                }
                            }
                        }
                    }
                    #expect(allClose, "path \(path) groups=\(groups) heads=\(heads) rows=\(rows) keys=\(keys) hd=\(hd) causal=\(causal) threads=\(threads)")
                }
                #expect(results[0] == results[1], "path \(path): the thread count changed the attention")
            }
        }
    }

    @Test func logSoftmaxMatchesTheDefinition() {
        let x: [Float] = [1, 2, 3, -.infinity, 0.5]
        var out = [Float](repeating: 0, count: x.count)
        let logSum = hark_log_softmax(x, &out, x.count)
        let expected = log(exp(1.0) + exp(2.0) + exp(3.0) + exp(0.5))
        #expect(abs(Double(logSum) - expected) < 1e-5)
        for i in 0..<x.count where x[i].isFinite { #expect(abs(Double(out[i]) - (Double(x[i]) - expected)) < 1e-5) }
        #expect(out[3] == -.infinity)
        let allMasked: [Float] = [-.infinity, -.infinity]
        var masked = [Float](repeating: 0, count: 2)
        #expect(hark_log_softmax(allMasked, &masked, 2) == -.infinity)
        #expect(masked.allSatisfy { $0 == -.infinity })
    }

    /// The largest finite entries, largest first and the lower index first among equals.
    static func referenceTop(_ x: [Float], _ k: Int) -> [Int32] {
        x.indices.filter { x[$0] > -.infinity }.sorted { x[$0] != x[$1] ? x[$0] > x[$1] : $0 < $1 }.prefix(k).map { Int32($0) }
    }

    static func referenceLogSumExp(_ x: [Float]) -> Double {
        guard let maximum = x.max(), maximum > -.infinity else { return -.infinity }
        return Double(maximum) + log(x.reduce(0.0) { $0 + exp(Double($1) - Double(maximum)) })
    }

    static func logSumExpTop(_ x: [Float], _ k: Int) -> (logSum: Float, top: [Int32]) {
        var top = [Int32](repeating: -1, count: k)
        var found = 0
        let logSum = hark_logsumexp_top_k(x, x.count, k, &top, &found)
        return (logSum, Array(top.prefix(found)))
    }

    @Test func logSumExpAndTopKMatchTheDefinitionOnEveryPath() {
        var rng = SplitMix64(seed: 11)
        for path in Self.availablePaths {
            hark_dec_force_path(path)
            defer { hark_dec_force_path(-1) }
            #expect(Self.logSumExpTop([0.1, 5, -1, 3, 4, -.infinity], 3).top == [1, 4, 3], "path \(path)")
            #expect(Self.logSumExpTop([-.infinity, 1], 5).top == [1], "path \(path)")
            let masked = Self.logSumExpTop([-.infinity, -.infinity, -.infinity], 2)
            #expect(masked.logSum == -.infinity && masked.top.isEmpty, "path \(path)")
            #expect(hark_max([Float](), 0) == -.infinity)
            for n in [1, 7, 8, 9, 17, 1000, 51864] {
                // A vocabulary row as a confident step gives it: one token far ahead, tens of
                // thousands of tiny ones (a running float sum drops these), some suppressed, ties.
                var x = (0..<n).map { _ in Float.random(in: -24 ... -12, using: &rng) }
                if n > 8 {
                    x[n / 2] = 3
                    for i in stride(from: 1, to: n, by: 5) { x[i] = -.infinity }
                    x[n - 1] = x[n / 3]
                    x[n - 2] = x[n / 3]
                }
                for k in [0, 1, 10] {
                    let (logSum, top) = Self.logSumExpTop(x, k)
                    #expect(top == Self.referenceTop(x, k), "path \(path) n=\(n) k=\(k)")
                    #expect(abs(Double(logSum) - Self.referenceLogSumExp(x)) < 2e-6, "path \(path) n=\(n): \(logSum)")
                }
                #expect(hark_max(x, n) == x.max()!, "path \(path) n=\(n)")
            }
        }
    }
}
