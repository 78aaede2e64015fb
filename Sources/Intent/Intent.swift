// The Intent module. See README.md for how the stages fit together.
