"""Runtimes: the only code that touches a framework (TensorFlow, ONNX Runtime, ...).

Each runtime is imported lazily by :func:`pyserving.runtimes.registry.get_runtime`, so that
importing pyserving never imports a framework.
"""
