import CKernels
import Foundation

/// Silero VAD v6, 16 kHz, run natively: the immutable weights from `silero_vad_16k.safetensors`
/// (PyPI `silero-vad==6.2.3`, MIT). Share one model between streams; each stream gets its own
/// `SileroVADSession` (LSTM state and audio context).
///
/// Per 512-sample frame (32 ms) the network sees 576 samples (64 carried from the previous
/// frame), reflection-pads 64 more on the right, takes a 256-point STFT with hop 128 as a
/// convolution with the fixed basis stored in the file (4 time steps x 129 bins, magnitude),
/// runs four 3-tap convolutions with ReLU (129->128, 128->64 stride 2, 64->64 stride 2,
/// 64->128), one LSTM cell (hidden 128) whose state carries across frames, then ReLU, a 1x1
/// convolution and a sigmoid: the speech probability. About 0.7 M multiply-adds per frame.
///
/// ```swift
/// let model = try SileroVADModel(contentsOf: modelsURL.appendingPathComponent("silero_vad_16k.safetensors"))
/// var session = model.makeSession()
/// let p = session.probability(of: frame)   // frame: 512 samples at 16 kHz
/// ```
public final class SileroVADModel: VoiceActivityDetecting {
    /// Samples per second the model was trained on.
    public static let sampleRateHz = 16000
    /// New samples per frame (32 ms at 16 kHz).
    public static let frameSamples = 512
    /// Samples of the previous frame prefixed to each frame.
    public static let contextSamples = 64
    /// STFT window (the basis kernel width) and hop, in samples.
    static let fftSize = 256
    static let hopSize = 128
    /// Frequency bins: fftSize / 2 + 1.
    static let bins = 129
    /// Samples added on the right by reflection before the STFT.
    static let reflectPadSamples = 64
    /// LSTM hidden size.
    public static let hiddenSize = 128

    /// Model input length: context + frame (576).
    static let inputSamples = contextSamples + frameSamples
    /// After reflection padding (640).
    static let paddedSamples = inputSamples + reflectPadSamples
    /// STFT time steps: (640 - 256) / 128 + 1 = 4.
    static let stftSteps = (paddedSamples - fftSize) / hopSize + 1

    public var sampleRate: Int { Self.sampleRateHz }
    public var frameSize: Int { Self.frameSamples }

    /// Where the weights came from.
    public let path: String

    /// STFT basis, [258][256]: rows 0..<129 real parts, 129..<258 imaginary parts.
    let stftBasis: [Float]
    let encoder: [ConvLayer]
    /// LSTM input and recurrent weights side by side: row r = weight_ih[r] ++ weight_hh[r],
    /// [512][256], gates in PyTorch order (input, forget, cell, output).
    let lstmWeights: [Float]
    /// bias_ih + bias_hh, [512].
    let lstmBias: [Float]
    let finalWeight: [Float]
    let finalBias: Float

    /// A 1-D convolution over [channels][time] with "same"-style padding.
    struct ConvLayer: Sendable {
        let inChannels: Int
        let outChannels: Int
        let kernel: Int
        let stride: Int
        let padding: Int
        /// [out][in][kernel], which is also the im2col row layout (column index in * kernel + k).
        let weight: [Float]
        let bias: [Float]

        func outputLength(_ inputLength: Int) -> Int { (inputLength + 2 * padding - kernel) / stride + 1 }
    }

    /// Loads and checks the weights (every tensor's name and shape).
    public convenience init(contentsOf url: URL) throws(VADError) {
        try self.init(file: SafetensorsFile(contentsOf: url))
    }

    /// Builds the model from an opened safetensors file.
    public init(file: SafetensorsFile) throws(VADError) {
        path = file.path
        stftBasis = try file.floats("stft_conv.weight", shape: [2 * Self.bins, 1, Self.fftSize])
        let layout: [(name: String, inChannels: Int, outChannels: Int, stride: Int)] = [
            ("conv1", Self.bins, 128, 1), ("conv2", 128, 64, 2), ("conv3", 64, 64, 2), ("conv4", 64, Self.hiddenSize, 1),
        ]
        var encoder: [ConvLayer] = []
        for layer in layout {
            encoder.append(ConvLayer(
                inChannels: layer.inChannels, outChannels: layer.outChannels, kernel: 3, stride: layer.stride, padding: 1,
                weight: try file.floats("\(layer.name).weight", shape: [layer.outChannels, layer.inChannels, 3]),
                bias: try file.floats("\(layer.name).bias", shape: [layer.outChannels])))
        }
        self.encoder = encoder
        let gates = 4 * Self.hiddenSize
        let inputWeights = try file.floats("lstm_cell.weight_ih", shape: [gates, Self.hiddenSize])
        let recurrentWeights = try file.floats("lstm_cell.weight_hh", shape: [gates, Self.hiddenSize])
        var combined = [Float](repeating: 0, count: gates * 2 * Self.hiddenSize)
        for row in 0..<gates {
            for column in 0..<Self.hiddenSize {
                combined[row * 2 * Self.hiddenSize + column] = inputWeights[row * Self.hiddenSize + column]
                combined[row * 2 * Self.hiddenSize + Self.hiddenSize + column] = recurrentWeights[row * Self.hiddenSize + column]
            }
        }
        lstmWeights = combined
        let biasIH = try file.floats("lstm_cell.bias_ih", shape: [gates])
        let biasHH = try file.floats("lstm_cell.bias_hh", shape: [gates])
        lstmBias = zip(biasIH, biasHH).map { $0 + $1 }
        finalWeight = try file.floats("final_conv.weight", shape: [1, Self.hiddenSize, 1])
        finalBias = try file.floats("final_conv.bias", shape: [1])[0]
    }

    /// A fresh stream: zero LSTM state, zero context.
    public func makeSession() -> SileroVADSession { SileroVADSession(model: self) }

    /// Scratch sizes for one forward pass (floats).
    static let workspaceSize: Int = {
        let steps = stftSteps
        return paddedSamples + 2 * bins * steps + bins * steps   // padded input, STFT, magnitude
            + imColumnSize                                        // one im2col column and its result
            + 128 * steps + 64 * 2 + 64 + 128                     // encoder outputs
            + 4 * hiddenSize                                      // LSTM gates
    }()

    /// im2col columns of the largest layer (4 steps x 129 channels x 3 taps) plus the largest
    /// layer output (4 steps x 128 channels).
    static let imColumnSize = stftSteps * 3 * bins + stftSteps * 128

    /// One forward pass. `input` holds context + frame (576 samples); `state` holds the LSTM
    /// input/hidden vector [x (128) ++ h (128)] and the cell [c (128)]: 384 floats.
    func forward(input: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) -> Float {
        let steps = Self.stftSteps
        var cursor = workspace
        let end = workspace + Self.workspaceSize
        func take(_ count: Int) -> UnsafeMutablePointer<Float> {
            assert(cursor + count <= end, "Silero workspace too small")
            defer { cursor += count }
            return cursor
        }
        let padded = take(Self.paddedSamples)
        let spectrum = take(2 * Self.bins * steps)       // [step][258]
        let magnitude = take(Self.bins * steps)          // [bin][step]
        let columns = take(Self.imColumnSize)

        // Reflection padding on the right: padded[n + k] = input[n - 2 - k] (edge not repeated).
        padded.update(from: input, count: Self.inputSamples)
        for k in 0..<Self.reflectPadSamples {
            padded[Self.inputSamples + k] = input[Self.inputSamples - 2 - k]
        }
        // The STFT as a strided convolution: 4 overlapping 256-sample windows, hop 128.
        stftBasis.withUnsafeBufferPointer { basis in
            hark_vad_matmul(basis.baseAddress, padded, Self.hopSize, nil, spectrum, 2 * Self.bins,
                            2 * Self.bins, Self.fftSize, steps)
        }
        for step in 0..<steps {
            let spec = spectrum + step * 2 * Self.bins
            for bin in 0..<Self.bins {
                let re = spec[bin], im = spec[Self.bins + bin]
                magnitude[bin * steps + step] = (re * re + im * im).squareRoot()
            }
        }

        var activation = UnsafePointer(magnitude)
        var length = steps
        for layer in encoder {
            let outLength = layer.outputLength(length)
            let output = take(layer.outChannels * outLength)
            let columnLength = layer.inChannels * layer.kernel
            // im2col: columns[t][i * kernel + k] = input[i][t * stride + k - padding] (0 outside).
            for t in 0..<outLength {
                let column = columns + t * columnLength
                for i in 0..<layer.inChannels {
                    for k in 0..<layer.kernel {
                        let source = t * layer.stride + k - layer.padding
                        column[i * layer.kernel + k] = (source >= 0 && source < length) ? activation[i * length + source] : 0
                    }
                }
            }
            // results[t][out], then ReLU and transpose into output[out][t].
            let results = columns + outLength * columnLength
            layer.weight.withUnsafeBufferPointer { weight in
                layer.bias.withUnsafeBufferPointer { bias in
                    hark_vad_matmul(weight.baseAddress, columns, columnLength, bias.baseAddress, results, layer.outChannels,
                                    layer.outChannels, columnLength, outLength)
                }
            }
            for t in 0..<outLength {
                for o in 0..<layer.outChannels { output[o * outLength + t] = max(0, results[t * layer.outChannels + o]) }
            }
            activation = UnsafePointer(output)
            length = outLength
        }
        // The last encoder output is [128][1]: the LSTM input.
        let hidden = Self.hiddenSize
        state.update(from: activation, count: hidden)
        let gates = take(4 * hidden)
        lstmWeights.withUnsafeBufferPointer { weights in
            lstmBias.withUnsafeBufferPointer { bias in
                hark_vad_matvec(weights.baseAddress, state, bias.baseAddress, gates, 4 * hidden, 2 * hidden)
            }
        }
        let h = state + hidden
        let c = state + 2 * hidden
        var logit = finalBias
        for j in 0..<hidden {
            let inputGate = sigmoid(gates[j])
            let forgetGate = sigmoid(gates[hidden + j])
            let cellCandidate = tanhf(gates[2 * hidden + j])
            let outputGate = sigmoid(gates[3 * hidden + j])
            let cell = forgetGate * c[j] + inputGate * cellCandidate
            c[j] = cell
            let hj = outputGate * tanhf(cell)
            h[j] = hj
            logit += finalWeight[j] * max(0, hj)
        }
        return sigmoid(logit)
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// Per-stream state of Silero VAD: the LSTM hidden and cell vectors and the last 64 samples.
/// A value type: copy it to fork a stream; `reset()` to start over.
public struct SileroVADSession: VoiceActivitySession {
    public let model: SileroVADModel
    /// [context (64) ++ frame (512)]: the model input; its tail becomes the next context.
    private var input: [Float]
    /// [x (128) ++ h (128) ++ c (128)].
    private var state: [Float]
    private var workspace: [Float]

    public var frameSize: Int { SileroVADModel.frameSamples }

    public init(model: SileroVADModel) {
        self.model = model
        input = [Float](repeating: 0, count: SileroVADModel.inputSamples)
        state = [Float](repeating: 0, count: 3 * SileroVADModel.hiddenSize)
        workspace = [Float](repeating: 0, count: SileroVADModel.workspaceSize)
    }

    /// Speech probability of the next 512-sample frame (16 kHz, -1...1). Traps on another size.
    public mutating func probability(of frame: [Float]) -> Float {
        precondition(frame.count == SileroVADModel.frameSamples,
                     "Silero VAD frame must be \(SileroVADModel.frameSamples) samples, got \(frame.count)")
        let context = SileroVADModel.contextSamples
        // Shift the previous frame's last 64 samples to the front, then append the new frame.
        for k in 0..<context { input[k] = input[SileroVADModel.frameSamples + k] }
        input.replaceSubrange(context..<SileroVADModel.inputSamples, with: frame)
        let model = self.model
        return input.withUnsafeBufferPointer { input in
            state.withUnsafeMutableBufferPointer { state in
                workspace.withUnsafeMutableBufferPointer { workspace in
                    model.forward(input: input.baseAddress!, state: state.baseAddress!, workspace: workspace.baseAddress!)
                }
            }
        }
    }

    public mutating func reset() {
        for k in input.indices { input[k] = 0 }
        for k in state.indices { state[k] = 0 }
    }
}
