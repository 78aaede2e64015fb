import Foundation
import HarkTestSupport
import Testing
@testable import LLM

@Suite struct ChatTemplateTests {
    let conversation: [ChatMessage] = [.system("Be brief."), .user("Hi!"), .assistant("Hello."), .user(" Joke? ")]

    @Test func recognisesFamilies() throws {
        #expect(try ChatTemplate(templateText: "{{'<|im_start|>' + message['role']}}") == .chatML)
        #expect(try ChatTemplate(templateText: "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}") == .llama3)
        #expect(try ChatTemplate(templateText: "{{ '<start_of_turn>' + role }}") == .gemma)
        #expect(throws: LLMError.self) { try ChatTemplate(templateText: "[INST] {{ content }} [/INST]") }
    }

    @Test func chatML() {
        #expect(ChatTemplate.chatML.render(conversation, addGenerationPrompt: true) ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n" +
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n Joke? <|im_end|>\n<|im_start|>assistant\n")
        #expect(ChatTemplate.chatML.stopStrings.contains("<|im_end|>"))
    }

    @Test func llama3() {
        #expect(ChatTemplate.llama3.render(conversation, addGenerationPrompt: true) ==
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nJoke?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func gemma() {
        #expect(ChatTemplate.gemma.render(conversation, addGenerationPrompt: false) ==
            "<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n" +
            "<start_of_turn>user\nJoke?<end_of_turn>\n")
        #expect(ChatTemplate.gemma.render([.user("Hi")], addGenerationPrompt: true) ==
            "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n")
    }

    @Test func voiceAssistantPromptIsShortAndPlain() {
        let prompt = ChatTemplate.voiceAssistantSystemPrompt
        #expect(prompt.count < 400)
        #expect(!prompt.contains("*") && !prompt.contains("#"))
    }

    struct Fixture: Decodable {
        struct Case: Decodable {
            var messages: [ChatMessage]
            var addGenerationPrompt: Bool
            var rendered: String
        }
        var template: String
        var cases: [Case]
    }

    /// The GGUF's own Jinja template rendered by jinja2 (scripts/reference/llm_reference.py).
    @Test(arguments: ["chat_smollm2.json", "chat_qwen2.5.json"])
    func matchesReferenceRendering(_ name: String) throws {
        let url = ProjectPaths.fixtures.appendingPathComponent("llm/\(name)")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let template = try ChatTemplate(templateText: fixture.template)
        #expect(template == .chatML)
        let builtIn = try #require(ChatTemplate.builtInSystemPrompt(templateText: fixture.template))
        #expect(fixture.cases.count >= 6)
        for c in fixture.cases {
            var messages = c.messages
            if messages.first?.role != .system { messages.insert(.system(builtIn), at: 0) }
            #expect(template.render(messages, addGenerationPrompt: c.addGenerationPrompt) == c.rendered)
        }
    }
}
