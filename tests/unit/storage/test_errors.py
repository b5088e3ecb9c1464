import pytest

from pyserving.errors import Code
from pyserving.storage.errors import storage_error


class NoCredentialsError(Exception):  # named as botocore's
    pass


class EndpointConnectionError(Exception):  # named as botocore's
    pass


@pytest.mark.parametrize(
    ("exc", "code", "hint"),
    [
        (NoCredentialsError("no credentials"), Code.FAILED_PRECONDITION, "AWS_PROFILE"),
        (EndpointConnectionError("connect failed"), Code.UNAVAILABLE, "AWS_ENDPOINT_URL"),
        (PermissionError("AccessDenied"), Code.PERMISSION_DENIED, "s3:GetObject"),
        (FileNotFoundError("NoSuchBucket"), Code.NOT_FOUND, "check the bucket name"),
        (ValueError("odd"), Code.UNAVAILABLE, "ValueError"),
    ],
)
def test_backend_errors_say_what_to_do(exc: Exception, code: Code, hint: str) -> None:
    error = storage_error(exc, "s3://bkt/m", "s3")
    assert error.code is code
    assert hint in str(error)
    assert "s3://bkt/m" in str(error)


def test_gcs_hints_name_the_google_variables() -> None:
    error = storage_error(NoCredentialsError(), "gs://b/m", "gs")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(error)
    assert "Forbidden" in str(storage_error(OSError("Forbidden: b/m"), "gs://b/m", "gs"))
    assert storage_error(OSError("Forbidden: b/m"), "gs://b/m", "gs").code is Code.PERMISSION_DENIED
