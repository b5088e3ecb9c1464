"""pyserving: a TensorFlow Serving compatible model server.

Importing this package is cheap: it never imports TensorFlow or any other runtime; runtimes are
imported lazily when a model of their platform loads.
"""

from __future__ import annotations

from pyserving.errors import Code, ServingError

__version__ = "0.1.0"

__all__ = ["Code", "ServingError", "__version__"]
