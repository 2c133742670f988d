# GPU image on NVIDIA's TensorFlow container 24.02 (TF 2.15, the last line that ships
# tf.estimator, with Horovod built against NCCL), Python 3.10.
#   docker build -t unet-medical .
#   docker run --gpus all --rm -v /data:/data -v /results:/results unet-medical \
#       --data_dir /data --model_dir /results
FROM nvcr.io/nvidia/tensorflow:24.02-tf2-py3

# jemalloc for the launch scripts in examples/, which preload it when it is installed.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /workspace/unet
COPY requirements.txt .
# TensorFlow, NumPy and Horovod come with the container (built for its CUDA); the rest as pinned.
RUN grep -vE '^(tensorflow|numpy)==' requirements.txt > /tmp/requirements-extra.txt \
 && pip install --no-cache-dir -r /tmp/requirements-extra.txt
COPY . .

ENTRYPOINT ["python", "main.py"]
