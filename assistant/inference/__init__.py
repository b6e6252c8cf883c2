"""The shared inference code: checkpoints, the architecture registry, the one preprocessing,
predictions and calibration, and the runtimes (ONNX Runtime; PyTorch). No Qt; torch optional."""
