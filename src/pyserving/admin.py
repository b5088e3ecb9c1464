"""Client side of pyserving's gRPC admin API (``pyserving.admin.ModelAdminService``).

The generated messages and stub, importable without TensorFlow::

    import grpc
    from pyserving.admin import ModelAdminServiceStub, admin_pb2

    stub = ModelAdminServiceStub(grpc.insecure_channel("localhost:8500"))
    request = admin_pb2.SetVersionLabelRequest(model_name="digits", label="stable", version=2)
    stub.SetVersionLabel(request)

``model_server_config_pb2`` builds the ``ModelConfig`` that ``PutModelRequest`` carries. The
messages belong to pyserving's own descriptor pool (see :mod:`pyserving.protos`).
"""

from __future__ import annotations

from pyserving.protos import admin_pb2, admin_pb2_grpc, model_server_config_pb2

ModelAdminServiceStub = admin_pb2_grpc.ModelAdminServiceStub

__all__ = ["ModelAdminServiceStub", "admin_pb2", "admin_pb2_grpc", "model_server_config_pb2"]
