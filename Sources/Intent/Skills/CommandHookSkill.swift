import Foundation

/// Runs the shell command an intent file attaches to an intent (`command:`), with the slots as
/// environment variables `HARK_SLOT_<NAME>` (upper case, canonical value), plus `HARK_INTENT`
/// and `HARK_TEXT`. The command is killed after the intent's `timeout`.
public struct CommandHookSkill: Skill {
    public let intents: IntentSet
    public init(intents: IntentSet) { self.intents = intents }
    public var intentNames: Set<String> { Set(intents.intents.filter { $0.command != nil }.map(\.name)) }

    /// `HARK_SLOT_ROOM` for slot "room"; characters other than letters and digits become `_`.
    public static func variableName(_ slot: String) -> String {
        "HARK_SLOT_" + String(slot.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        guard let definition = intents.intent(named: intent.name), let command = definition.command else {
            return .failure("No command is set for \(intent.name).", error: "no_command")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HARK_INTENT"] = intent.name
        environment["HARK_TEXT"] = intent.text
        for (name, value) in intent.slots { environment[Self.variableName(name)] = value.canonical }
        do {
            let outcome = try await Self.run(command, environment: environment, timeout: definition.timeout)
            guard outcome.status == 0 else {
                return .failure("The command for \(intent.name) failed.", error: "exit_status",
                                data: ["status": String(outcome.status), "output": outcome.output])
            }
            let text: String
            if let reply = definition.reply {
                text = intent.slots.reduce(reply) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value.text) }
            } else if let line = outcome.output.split(separator: "\n").first, !line.trimmingCharacters(in: .whitespaces).isEmpty {
                text = String(line)
            } else {
                text = "Done."
            }
            return SkillReply(text, data: ["status": "0", "output": outcome.output])
        } catch let error as IntentError {
            return .failure("The command for \(intent.name) did not work: \(error.description)", error: "hook_failed")
        } catch {
            return .failure("The command for \(intent.name) did not work: \(error)", error: "hook_failed")
        }
    }

    /// Runs `/bin/sh -c command`; output goes to a temporary file so a stuck grandchild holding
    /// a pipe cannot block us. At the timeout the process group gets SIGTERM, then SIGKILL.
    static func run(_ command: String, environment: [String: String], timeout: TimeInterval) async throws -> (status: Int32, output: String) {
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("hark-hook-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil) else {
            throw IntentError.hookFailed(command: command, reason: "cannot create \(outURL.path)")
        }
        defer { try? FileManager.default.removeItem(at: outURL) }
        let out = try FileHandle(forWritingTo: outURL)
        defer { try? out.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch {
            throw IntentError.hookFailed(command: command, reason: "cannot start /bin/sh: \(error.localizedDescription)")
        }
        // Wait on a dispatch thread, not the cooperative pool, so a busy pool cannot delay the kill.
        let pid = process.processIdentifier
        let timedOut: Bool = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                guard exited.wait(timeout: .now() + timeout) == .timedOut else { continuation.resume(returning: false); return }
                // Foundation starts the shell as a process-group leader; signal the whole group so
                // children the shell started (sleep, curl...) die with it. SIGTERM first, then SIGKILL.
                let group = getpgid(pid) == pid ? -pid : pid
                kill(group, SIGTERM)
                if exited.wait(timeout: .now() + 0.3) == .timedOut {
                    kill(group, SIGKILL)
                    kill(pid, SIGKILL)
                    exited.wait()
                }
                continuation.resume(returning: true)
            }
        }
        process.waitUntilExit()
        if timedOut { throw IntentError.hookFailed(command: command, reason: "timed out after \(SlotValue.format(timeout)) s") }
        let data = (try? Data(contentsOf: outURL)) ?? Data()
        let output = String(decoding: data.prefix(64 * 1024), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (process.terminationStatus, output)
    }
}
