"""The ONNX Runtime runtime (platform ``onnx``; ``pip install 'pyserving[onnx]'``).

A version directory holding ``model.onnx`` (and any external-data files it names) is one version.
Modules: ``options`` (flags -> session settings; no onnxruntime import), ``runtime`` (loading),
``model`` (a loaded version), ``types`` (ONNX tensor types <-> DataType), ``errors`` (onnxruntime
exceptions -> ServingError), ``watchdog`` (run deadlines).
"""
