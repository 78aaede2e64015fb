import CKernels

/// Which instruction set the quantized kernels use on this machine ("avx512-vnni", "avx2" or
/// "portable"), chosen once at run time; benchmarks print it next to their numbers.
public enum LLMKernelPath {
    public static var name: String { String(cString: hark_llm_kernel_name()) }
}
