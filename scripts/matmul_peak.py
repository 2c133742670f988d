"""The machine's practical peak: GFLOP/s of a large square matmul through TensorFlow.

    python scripts/matmul_peak.py [--size 4096] [--repeats 5]

Prints one JSON object, {"float32": {"best": GFLOP/s, "sustained": GFLOP/s}, "bfloat16": ...}:
the fastest single product, and the rate over all timed products (work / time), which is
what a long computation can count on while the machine is shared. A matmul this large
is the best case of the library kernels the U-Net's convolutions also use (oneDNN on CPUs),
so the U-Net's FLOP rate divided by this is the fraction of the reachable peak it attains.
Threads as in the product: every core for one op, one op at a time.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.runtime.quiet_tensorflow import import_tensorflow  # noqa: E402

DTYPES = ('float32', 'bfloat16')


def measure(size, repeats, dtype_name):
    """{'best', 'sustained'} GFLOP/s of `repeats` products of two `size` x `size` matrices
    (2 n^3 each)."""
    tf = import_tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        dtype = tf.as_dtype(dtype_name)
        # Variables of the timed dtype: only the matmul runs in the timed steps.
        a = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=1), dtype))
        b = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=2), dtype))
        product = tf.matmul(a, b)
        cores = len(os.sched_getaffinity(0))
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=cores,
                                          inter_op_parallelism_threads=1)
        with tf.compat.v1.Session(config=config) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(product.op)  # warm-up: kernel selection, allocation
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                session.run(product.op)  # run without fetching: no copy of the result
                seconds.append(time.perf_counter() - start)
    flop = 2 * size ** 3
    return {'best': flop / min(seconds) / 1e9, 'sustained': flop * repeats / sum(seconds) / 1e9}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=4096, help='matrix side')
    parser.add_argument('--repeats', type=int, default=5, help='timed products per dtype')
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error('--size and --repeats must be >= 1')
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    result = {name: measure(args.size, args.repeats, name) for name in DTYPES}
    result.update(size=args.size, repeats=args.repeats)
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
