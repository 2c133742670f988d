"""End-of-training check that every Horovod rank holds the same weights.

Data parallelism is only correct while the ranks stay in lockstep: the same initial weights
(the broadcast) and the same averaged update (the allreduce). A broken launch, a rank
restored from a different checkpoint or a non-deterministic op would let them drift apart
silently, and rank 0's checkpoint would then not be "the" model. This hook gathers a
checksum of the weights and of the samples each rank consumed, and rank 0 logs them.
"""
import tensorflow as tf

from utils.runtime.errors import UserError


def tensor_checksum(tensors):
    """An int64 checksum of the exact bits of float32 tensors: any changed bit changes it."""
    sums = [tf.reduce_sum(tf.cast(tf.bitcast(tf.cast(t, tf.float32), tf.int32), tf.int64))
            for t in tensors]
    return tf.add_n(sums)


class ConsistencyHook(tf.compat.v1.train.SessionRunHook):
    """Accumulates a checksum of this rank's samples; at the end compares weights across ranks.

    Args:
        logger: dllogger.Logger (a silent one on ranks other than 0).
        features: the batch tensor the model consumed this step.
        allgather: function gathering a `[1, n]` tensor from every rank into `[ranks, n]`
            (hvd.allgather), or None in a single process.
        hosts: the host of each rank, in rank order, for the record (none in one process).
    """

    def __init__(self, logger, features, allgather=None, hosts=()):
        self._logger = logger
        self._features = features
        self._allgather = allgather
        self._hosts = list(hosts)

    def begin(self):
        self._samples_digest = tf.compat.v1.get_variable(
            'samples_digest', [], tf.int64, initializer=tf.compat.v1.zeros_initializer(),
            trainable=False, collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
        self._accumulate = tf.compat.v1.assign_add(
            self._samples_digest, tensor_checksum([self._features]))
        digests = tf.stack([tensor_checksum(tf.compat.v1.trainable_variables()),
                            self._samples_digest])[None]
        self._digests = self._allgather(digests) if self._allgather else digests

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self._accumulate)

    def end(self, session):
        digests = session.run(self._digests)
        weights = [int(d[0]) for d in digests]
        samples = [int(d[1]) for d in digests]
        record = {'ranks': len(digests), 'weights_checksum': weights,
                  'samples_checksum': samples}
        if self._hosts:
            record['hosts'] = self._hosts
        self._logger.log('train_consistency', record)
        if len(set(weights)) != 1:
            raise UserError(f'weights differ between Horovod ranks at the end of training '
                            f'(checksums {weights}): the ranks drifted apart; do not use '
                            'this checkpoint')
