"""Sampled request logging (pyserving extension; TF Serving has the config but no collector).

:mod:`.settings` (per-model ``logging_config``), :mod:`.service` (sampling on the core's methods),
:mod:`.records` (``PredictionLog`` messages), :mod:`.writer` (rotating TFRecord files).
"""
