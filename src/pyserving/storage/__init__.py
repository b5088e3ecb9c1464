"""Where model versions live: local directories and object stores, behind one interface.

:class:`~pyserving.storage.base.VersionStore` is what the lifecycle's source and manager use;
:class:`~pyserving.storage.router.Storage` picks the store by the base path's scheme. Importing
this package imports no vendor library: s3fs and gcsfs load on the first ``s3://``/``gs://`` path.
"""

from pyserving.storage.base import VersionStore
from pyserving.storage.router import Storage, remote_scheme

__all__ = ["Storage", "VersionStore", "remote_scheme"]
