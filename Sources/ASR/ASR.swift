// The ASR module. See README.md for how the stages fit together.
