# GPU image on NVIDIA's TensorFlow container 24.02 (TF 2.15, the last line that ships
# tf.estimator, with Horovod built against NCCL), Python 3.10. As NVIDIA's recipe's, it opens
# a shell in the recipe's folder, where the commands of the README and of examples/ run as
# written (.dockerignore keeps .venv, data, results and .git out of the build context):
#   docker build -t unet_tf .
#   docker run --gpus all -it --rm --ipc=host -v "$PWD/data:/data" -v "$PWD/results:/results" \
#       unet_tf:latest bash
#   bash examples/unet_FP32_1GPU.sh . /data/isbi2012 /results
FROM nvcr.io/nvidia/tensorflow:24.02-tf2-py3

# jemalloc for the launch scripts in examples/, which preload it when it is installed. The
# package's version is the base image's Ubuntu release's: pinning it would break the build
# at the archive's next security update.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /workspace/unet
# TensorFlow, NumPy and Horovod come with the container (built for its CUDA); the rest as
# pinned for both Pythons (tests/test_container.py resolves it for 3.10).
COPY requirements-common.txt .
RUN pip install --no-cache-dir -r requirements-common.txt
COPY . .
# No ENTRYPOINT of ours: the container's own runs the command given, `bash` by default.
