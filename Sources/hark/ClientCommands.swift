import ArgumentParser
import Assistant
import Foundation

/// Where the running service listens; shared by the client commands.
struct ServiceSocketOptions: ParsableArguments {
    @Option(help: "The service's socket (default: the config's `socket`, else $XDG_RUNTIME_DIR/hark/hark.sock).")
    var socket: String?

    @Option(help: "Service config file whose `socket` to use (default: $XDG_CONFIG_HOME/hark/config.yaml).")
    var config: String?

    var path: String {
        get throws {
            if let socket { return socket }
            let loaded = try ServiceConfig.load(path: config ?? ServiceConfig.defaultPath, mustExist: config != nil)
            return loaded.resolvedSocket
        }
    }

    /// Connects, turning "nobody there" into a message that says how to start the service.
    func connect() throws -> ControlSocketClient {
        let path = try path
        do { return try ControlSocketClient(path: path) } catch let error as AssistantError {
            if case .notRunning = error {
                throw ServiceClientError("the hark service is not running (no one listens on \(path)); start it with `hark serve` or `systemctl --user start hark`")
            }
            throw ServiceClientError("\(error)")
        }
    }
}

/// A client-side failure, printed as "Error: ..." with exit status 1.
struct ServiceClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One request and its reply; an `{"ok": false}` reply becomes an error with the service's text.
private func request(_ request: ServiceRequest, _ options: ServiceSocketOptions) throws -> [String: Any] {
    let reply = try options.connect().request(request)
    if reply["ok"] as? Bool == false { throw ServiceClientError("the service refused: \(reply["error"] as? String ?? "unknown error")") }
    return reply
}

private func jsonText(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// `hark status`: what the running service is doing.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running service's state: uptime, mode, muted, models, pending timers.")

    @OptionGroup var service: ServiceSocketOptions
    @Flag(help: "Print the raw JSON reply.")
    var json = false

    func run() throws {
        let reply = try request(ServiceRequest(cmd: "status"), service)
        if json { print(jsonText(reply)); return }
        let models = (reply["models"] as? [String: Any])?.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") ?? "?"
        print("""
            hark service (pid \(reply["pid"] ?? "?")), up \(reply["uptime"] ?? "?") s
              mode:      \(reply["mode"] ?? "?") (wake phrase "\(reply["wake_phrase"] ?? "?")")
              listening: \(reply["listening"] ?? "?")\((reply["muted"] as? Bool) == true ? " (muted)" : "")
              speaking:  \((reply["speak"] as? Bool) == true ? "on" : "off")
              timers:    \(reply["pending_timers"] ?? 0) pending
              models:    \(models)
            """)
    }
}

/// `hark query "what time is it"`: ask the running service, print its reply as it comes.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask the running service (same path as speaking to it); prints the reply.",
        discussion: """
            Unlike `hark ask`, which loads the models itself, this asks `hark serve`: timers set \
            this way keep running, and the reply is spoken if the service speaks.

            Examples:
              hark query "what time is it"
              hark query "set a timer for five minutes"
              hark query --json "why is the sky blue"
            """)

    @Argument(help: "The request.")
    var text: [String]
    @OptionGroup var service: ServiceSocketOptions
    @Flag(help: "Print the final JSON reply only.")
    var json = false

    func run() throws {
        let client = try service.connect()
        try client.send(ServiceRequest(cmd: "ask", text: text.joined(separator: " "), stream: !json))
        var streamed = false
        while let line = try client.receive() {
            if line["event"] as? String == "replyPiece" {
                FileHandle.standardOutput.write(Data((line["text"] as? String ?? "").utf8))
                streamed = true
                continue
            }
            if line["ok"] as? Bool == false {
                throw ServiceClientError("the service refused: \(line["error"] as? String ?? "unknown error")")
            }
            if json { print(jsonText(line)) } else if streamed { print() } else { print(line["reply"] as? String ?? "") }
            return
        }
        throw ServiceClientError("the service closed the connection before replying")
    }
}

/// `hark say "hello"`: the running service speaks the text.
struct SayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "say",
        abstract: "Make the running service speak a text.")

    @Argument(help: "What to say.")
    var text: [String]
    @OptionGroup var service: ServiceSocketOptions

    func run() throws {
        let reply = try request(ServiceRequest(cmd: "say", text: text.joined(separator: " ")), service)
        if reply["spoken"] as? Bool != true {
            FileHandle.standardError.write(Data("hark: the service does not speak (speak: false in its config, or --no-speak)\n".utf8))
        }
    }
}

/// `hark events`: follow what the service hears and does.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the running service's events (wake, partial, final, intent, reply, timer) until Ctrl-C.")

    @OptionGroup var service: ServiceSocketOptions
    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        let client = try service.connect()
        try client.send(ServiceRequest(cmd: "subscribe"))
        while let event = try client.receive() {
            if event["subscribed"] != nil { continue }
            // Unbuffered: a pipe reader sees each event as it happens.
            if json { FileHandle.standardOutput.write(Data((jsonText(event) + "\n").utf8)); continue }
            let kind = event["event"] as? String ?? "?"
            let detail = event["text"] as? String ?? event["intent"] as? String ?? ""
            FileHandle.standardOutput.write(Data("\(kind.padding(toLength: 8, withPad: " ", startingAt: 0)) \(detail)\n".utf8))
        }
        throw ServiceClientError("the service closed the connection (it stopped)")
    }
}
