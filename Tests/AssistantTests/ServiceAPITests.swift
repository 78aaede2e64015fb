import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing

/// Blocking socket work on its own thread (never on the cooperative pool).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }.start()
    }
}

/// The service's API over a real socket, with real skills and fakes for speech and the LLM.
@Suite struct ServiceAPITests {
    private func withService(speak: Bool = true,
                             _ body: @escaping @Sendable (String, AssistantService, RecordingSpeech) throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        let (service, speaker) = try await makeTestService(dir: dir, clock: ManualClock(Date()), speak: speak)
        let server = ControlSocketServer(path: dir.file("run/hark.sock").path, handler: service, events: service.events)
        try server.start()
        defer { server.stop() }
        try await onOwnThread { try body(server.path, service, speaker) }
    }

    @Test func statusReportsTheServiceAndMuteTogglesIt() async throws {
        try await withService { path, _, _ in
            let client = try ControlSocketClient(path: path)
            let status = try client.request(ServiceRequest(cmd: "status"))
            #expect(status["ok"] as? Bool == true)
            #expect(status["mode"] as? String == "wake")
            #expect(status["muted"] as? Bool == false)
            #expect(status["pending_timers"] as? Int == 0)
            #expect((status["models"] as? [String: String])?["whisper"] == "test")
            #expect((status["uptime"] as? Double).map { $0 >= 0 } == true)

            #expect(try client.request(ServiceRequest(cmd: "mute"))["muted"] as? Bool == true)
            #expect(try client.request(ServiceRequest(cmd: "status"))["muted"] as? Bool == true)
            #expect(try client.request(ServiceRequest(cmd: "unmute"))["muted"] as? Bool == false)
            #expect(try client.request(ServiceRequest(cmd: "status"))["muted"] as? Bool == false)
        }
    }

    @Test func askAnswersThroughTheSkillsAndPublishesEvents() async throws {
        try await withService { path, _, speaker in
            let subscriber = try ControlSocketClient(path: path)
            #expect(try subscriber.request(ServiceRequest(cmd: "subscribe"))["subscribed"] as? Bool == true)

            let client = try ControlSocketClient(path: path)
            let reply = try client.request(ServiceRequest(cmd: "ask", text: "set a timer for five minutes"))
            #expect(reply["reply"] as? String == "Timer set for 5 minutes.")
            #expect(reply["intent"] as? String == "SetTimer")
            #expect(speaker.spoken == ["Timer set for 5 minutes."])

            // The pipeline's events, in its order, up to the end of speaking.
            var seen: [[String: Any]] = []
            while let event = try subscriber.receive() {
                seen.append(event)
                if event["event"] as? String == "speaking", event["started"] as? Bool == false { break }
            }
            #expect(seen.map { $0["event"] as? String ?? "?" } == ["intent", "timer", "replyPiece", "reply", "speaking", "speaking"])
            #expect(seen[0]["intent"] as? String == "SetTimer")
            #expect(seen[1]["fired"] as? Bool == false)
            #expect(seen[3]["text"] as? String == "Timer set for 5 minutes.")

            let timers = try client.request(ServiceRequest(cmd: "timers"))
            #expect((timers["timers"] as? [[String: Any]])?.first?["remaining"] as? Double == 300)
        }
    }

    @Test func aStreamingAskSendsPiecesBeforeTheReply() async throws {
        try await withService { path, _, _ in
            let client = try ControlSocketClient(path: path)
            try client.send(ServiceRequest(cmd: "ask", text: "set a timer for two minutes", stream: true))
            var pieces = ""
            while let line = try client.receive() {
                if line["event"] as? String == "replyPiece" { pieces += line["text"] as? String ?? ""; continue }
                #expect(line["reply"] as? String == "Timer set for 2 minutes.")
                break
            }
            #expect(pieces.trimmingCharacters(in: .whitespaces) == "Timer set for 2 minutes.")
        }
    }

    @Test func saySpeaksOnlyWhenSpeakingIsOn() async throws {
        try await withService { path, _, speaker in
            let reply = try ControlSocketClient(path: path).request(ServiceRequest(cmd: "say", text: "hello there"))
            #expect(reply["spoken"] as? Bool == true)
            #expect(speaker.spoken == ["hello there"])
        }
        try await withService(speak: false) { path, _, speaker in
            let reply = try ControlSocketClient(path: path).request(ServiceRequest(cmd: "say", text: "hello there"))
            #expect(reply["spoken"] as? Bool == false)
            #expect(speaker.spoken.isEmpty)
        }
    }

    @Test func badRequestsGetErrorRepliesAndTheServiceStaysUp() async throws {
        try await withService { path, _, _ in
            let client = try ControlSocketClient(path: path)
            func error(_ request: ServiceRequest) throws -> String {
                let reply = try client.request(request)
                #expect(reply["ok"] as? Bool == false)
                return reply["error"] as? String ?? ""
            }
            #expect(try error(ServiceRequest(cmd: "fly")).contains("unknown command 'fly'"))
            #expect(try error(ServiceRequest(cmd: "ask")).contains("'ask' needs a non-empty \"text\""))
            #expect(try error(ServiceRequest(cmd: "say", text: "  ")).contains("'say' needs"))
            #expect(try error(ServiceRequest(cmd: "advance", seconds: -1)).contains("seconds"))
            #expect(client.sendRaw(Data("[1, 2]\n{\"cmd\": 5}\n".utf8)))
            #expect((try client.receive()?["error"] as? String)?.contains("malformed") == true)
            #expect((try client.receive()?["error"] as? String)?.contains("malformed") == true)
            let huge = Data(repeating: UInt8(ascii: "x"), count: ControlSocketServer.maximumLineBytes + 10) + Data("\n".utf8)
            #expect(client.sendRaw(huge))
            #expect((try client.receive()?["error"] as? String)?.contains("longer") == true)

            // A subscriber and an asker that hang up mid-stream.
            var subscriber: ControlSocketClient? = try ControlSocketClient(path: path)
            try subscriber?.send(ServiceRequest(cmd: "subscribe"))
            var asker: ControlSocketClient? = try ControlSocketClient(path: path)
            try asker?.send(ServiceRequest(cmd: "ask", text: "set a timer for one minute", stream: true))
            subscriber = nil
            asker = nil
            #expect(try client.request(ServiceRequest(cmd: "ask", text: "set a timer for three minutes"))["ok"] as? Bool == true)
            #expect(try client.request(ServiceRequest(cmd: "status"))["ok"] as? Bool == true)
        }
    }
}
