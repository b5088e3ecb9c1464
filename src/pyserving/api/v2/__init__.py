"""The Open Inference Protocol (KServe V2) adapters: REST (with Triton's binary tensor data and
model repository extensions) and gRPC (``inference.GRPCInferenceService``), over the same core
service as the TF Serving APIs."""
