"""The TensorFlow Lite runtime (platform ``tflite``, and ``tensorflow`` with
``--prefer_tflite_model``): ``<version>/model.tflite`` run by LiteRT (``pip install
'pyserving[tflite]'``, the ``ai-edge-litert`` package) or by ``tf.lite`` when TensorFlow is
installed. Modules: ``options`` (flags; no framework import), ``runtime`` (loading and running).
"""
