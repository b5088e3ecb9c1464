"""Model warmup: replay logged requests against a new version before it serves (TF Serving's
``saved_model_warmup``). The lifecycle runs :class:`~pyserving.warmup.hook.ModelWarmup` as its
post-load hook; nothing here imports the lifecycle's internals, an API adapter or a runtime."""

from __future__ import annotations

from pyserving.warmup.hook import ModelWarmup, warmup_hook

__all__ = ["ModelWarmup", "warmup_hook"]
