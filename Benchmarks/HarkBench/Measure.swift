import Foundation

/// Wall-clock seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The best (lowest) of `repeats` timings: the least disturbed run on a shared machine.
func bestOf(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<repeats { best = min(best, try seconds(body)) }
    return best
}

/// Peak resident memory of this process so far, in MiB (VmHWM from /proc/self/status).
func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

/// The OpenBLAS kernel settings in force, reported next to numbers that depend on them.
func blasEnvironment() -> String {
    let env = ProcessInfo.processInfo.environment
    return "OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "unset") OPENBLAS_L2_SIZE=\(env["OPENBLAS_L2_SIZE"] ?? "unset")"
}
