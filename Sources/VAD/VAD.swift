// The VAD module: voice activity detection and endpointing.
