"""Ask a running server which digit a picture shows, over gRPC, with TF Serving's own client
library (``tensorflow-serving-api``): the classic TF Serving tutorial client.

    .venv/bin/python demo/client_grpc.py demo/models/samples/digit_7.png [--server localhost:8500]

Prints, per picture, the digit and the model's confidence:
``demo/models/samples/digit_7.png: digit 7 (confidence 0.99) from digits``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digit_image import pixels_from_image


def predict(server: str, model: str, pixels: list[float]) -> tuple[int, float]:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "serving_default"
    request.inputs["pixels"].CopyFrom(tf.make_tensor_proto([pixels], dtype=tf.float32))
    with grpc.insecure_channel(server) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(request, timeout=30)
    digit = int(tf.make_ndarray(response.outputs["class_id"])[0])
    probabilities = tf.make_ndarray(response.outputs["probabilities"])[0]
    return digit, float(probabilities[digit])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "images", type=Path, nargs="+", help="PNG or JPEG pictures of one handwritten digit each"
    )
    parser.add_argument("--server", default="localhost:8500", help="gRPC host:port")
    parser.add_argument("--model", default="digits")
    args = parser.parse_args(argv)
    for image in args.images:
        digit, confidence = predict(args.server, args.model, pixels_from_image(image))
        print(f"{image}: digit {digit} (confidence {confidence:.2f}) from {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
