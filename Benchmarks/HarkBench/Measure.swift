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

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// Wall milliseconds of named phases over several rounds, printed as min / median per phase.
struct PhaseTimes {
    private var values: [String: [Double]] = [:]

    /// Runs `body` and adds its time to `name`.
    mutating func time<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        add(name, milliseconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        return value
    }

    mutating func add(_ name: String, milliseconds: Double) { values[name, default: []].append(milliseconds) }

    /// One line per phase in `names` that was timed: name, min and median.
    func report(_ names: [String]) {
        for name in names {
            let sorted = (values[name] ?? []).sorted()
            guard !sorted.isEmpty else { continue }
            print("  " + name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.2f %8.2f", sorted[0], sorted[sorted.count / 2]))
        }
    }
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
