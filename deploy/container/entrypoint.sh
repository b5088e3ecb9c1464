#!/bin/sh
# TensorFlow Serving's container entry point, for pyserving: one model at
# ${MODEL_BASE_PATH}/${MODEL_NAME}, gRPC on 8500, REST on 8501, the container's arguments
# appended (a later flag wins; --model_config_file replaces --model_name/--model_base_path).
exec tensorflow_model_server --port=8500 --rest_api_port=8501 \
    --model_name="${MODEL_NAME}" --model_base_path="${MODEL_BASE_PATH}/${MODEL_NAME}" "$@"
