#!/bin/sh
# TensorFlow Serving's container entry point, for pyserving: one model at
# ${MODEL_BASE_PATH}/${MODEL_NAME} (a directory or a bucket URL: s3://..., gs://...), gRPC on 8500,
# REST on 8501, the container's arguments appended (a later flag wins; --model_config_file
# replaces --model_name/--model_base_path). MODEL_PLATFORM, when set, is --default_platform: the
# `onnx` image sets "auto" (each version is served by the runtime whose model file it holds);
# unset, the model is a TensorFlow SavedModel, as in TF Serving.
exec tensorflow_model_server --port=8500 --rest_api_port=8501 \
    ${MODEL_PLATFORM:+"--default_platform=${MODEL_PLATFORM}"} \
    --model_name="${MODEL_NAME}" --model_base_path="${MODEL_BASE_PATH}/${MODEL_NAME}" "$@"
