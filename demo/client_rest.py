"""Ask a running server which digit a picture shows, over REST (TF Serving's Predict API).

    .venv/bin/python demo/client_rest.py demo/models/samples/digit_7.png [--server localhost:8501]

Prints, per picture, the digit and the model's confidence:
``demo/models/samples/digit_7.png: digit 7 (confidence 0.99) from digits``.
Uses only the standard library and Pillow.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digit_image import pixels_from_image


def predict(server: str, model: str, pixels: list[float]) -> tuple[int, float]:
    body = json.dumps({"instances": [pixels]}).encode()
    request = urllib.request.Request(
        f"http://{server}/v1/models/{model}:predict",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        [prediction] = json.load(response)["predictions"]
    probabilities = prediction["probabilities"]
    digit = int(prediction["class_id"])
    return digit, float(probabilities[digit])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "images", type=Path, nargs="+", help="PNG or JPEG pictures of one handwritten digit each"
    )
    parser.add_argument("--server", default="localhost:8501", help="REST host:port")
    parser.add_argument("--model", default="digits")
    args = parser.parse_args(argv)
    for image in args.images:
        digit, confidence = predict(args.server, args.model, pixels_from_image(image))
        print(f"{image}: digit {digit} (confidence {confidence:.2f}) from {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
