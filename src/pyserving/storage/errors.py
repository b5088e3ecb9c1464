"""Backend exceptions (botocore, aiohttp, gcsfs, google-auth) -> :class:`StorageError`s that say
what was wrong and what to do. Matched by class name, so no vendor library is imported here."""

from __future__ import annotations

from pyserving.storage.base import (
    StorageAccessDenied,
    StorageError,
    StorageNoCredentials,
    StorageNotFound,
    StorageUnreachable,
)

_CREDENTIALS_HINT = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared config "
    "file, or run with an instance/pod role",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run with "
    "workload identity / a service account attached",
}
_ENDPOINT_HINT = {
    "s3": "check the network and AWS_ENDPOINT_URL (for MinIO, Ceph and other S3-compatible stores)",
    "gs": "check the network and STORAGE_EMULATOR_HOST (when using an emulator)",
}
_NO_CREDENTIALS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "DefaultCredentialsError",
    "RefreshError",
}
_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ClientOSError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
}


def _family(scheme: str) -> str:
    return "gs" if scheme in ("gs", "gcs") else "s3"


def storage_error(exc: BaseException, uri: str, scheme: str) -> StorageError:
    """``exc`` (raised while reading ``uri``) as the StorageError subclass for its kind."""
    if isinstance(exc, StorageError):
        return exc
    family = _family(scheme)
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc) or type(exc).__name__
    if names & _NO_CREDENTIALS or (getattr(exc, "code", None) == 401):
        return StorageNoCredentials(
            f"No valid credentials to read {uri} ({text}): {_CREDENTIALS_HINT[family]}"
        )
    if names & _UNREACHABLE or isinstance(exc, ConnectionError | TimeoutError):
        return StorageUnreachable(
            f"Cannot reach the store holding {uri} ({text}): {_ENDPOINT_HINT[family]}"
        )
    if isinstance(exc, PermissionError) or text.startswith("Forbidden"):
        return StorageAccessDenied(
            f"Access denied reading {uri} ({text}): the credentials in use need list and read "
            f"permission on it (s3:ListBucket and s3:GetObject; storage.objects.list and "
            f"storage.objects.get)"
        )
    if isinstance(exc, FileNotFoundError):
        return StorageNotFound(
            f"{uri} does not exist ({text}): check the bucket name and the prefix "
            f"(a base path holds numbered version prefixes such as {uri.rstrip('/')}/1/)"
        )
    return StorageError(f"Could not read {uri}: {type(exc).__name__}: {text}")
