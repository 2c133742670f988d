"""model_fn: the U-Net, its losses and its optimizer, as an EstimatorSpec per mode."""
import tensorflow as tf

from model.unet import unet
from utils.data.dataset import BACKGROUND
from utils.graph import losses, optimization, weight_average
from utils.graph.divergence import finite_guard
from utils.hooks import inspection_hooks
from utils.hooks.consistency_hook import ConsistencyHook
from utils.hooks.progress_hook import ProgressHook
from utils.runtime import distributed as dist_lib, precision

LEARNING_RATE_NAME = 'learning_rate_schedule'
"""The learning-rate tensor's name; the summary keeps the tag 'learning_rate'."""
LOSS_TERMS = {'ce_dice': ('cross_entropy', 'dice_loss'),
              'weighted_ce': ('weighted_cross_entropy',),
              'weighted_ce_dice': ('weighted_cross_entropy', 'dice_loss'),
              'ce_dice_skeleton': ('cross_entropy', 'dice_loss', 'skeleton_recall')}
"""The terms each --loss adds up, besides the weight decay."""


def build_model_fn(logger, distributed, amp=precision.Amp()):
    """Returns the Estimator's model_fn, closed over the logger and this process's place.

    The model_fn reads its settings from the Estimator's `params`, a utils.runtime.params.Params,
    and its labels as utils.data.input_fns's input functions give them: {'classes'}, plus
    'pixel_weights' for a --loss that reads a per-pixel map (Params.pixel_weighted).
    `amp` (utils.runtime.precision.Amp) is what --use_amp does here: the model is built in
    float32 either way, the session's rewrite lowers it, and our loss scaling wraps the
    optimizer where `amp.loss_scaling` asks for it.
    """

    def model_fn(features, labels, mode, params, config=None):
        global_step = tf.compat.v1.train.get_or_create_global_step()
        training = mode == tf.estimator.ModeKeys.TRAIN
        logits = tf.cast(unet(features, dropout_seed(params.seed, distributed.rank, global_step)
                              if training else None), tf.float32)
        probabilities = tf.nn.softmax(logits, axis=-1)
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={'probabilities': probabilities},
                                              scaffold=_predicting_scaffold(config, logger))
        terms = loss_terms(logits, probabilities, labels, params)
        loss = tf.add_n([terms[name] for name in LOSS_TERMS[params.loss]] +
                        [terms['weight_decay']])
        learning_rate = tf.identity(optimization.learning_rate_schedule(
            params, optimization.base_learning_rate(params, distributed), global_step),
            name=LEARNING_RATE_NAME)
        train_op = _train_op(loss, learning_rate, global_step, params, distributed, amp)
        _add_summaries(features, labels['classes'], probabilities,
                       dict(terms, loss=loss, learning_rate=learning_rate))
        return tf.estimator.EstimatorSpec(
            mode, loss=loss, train_op=train_op, training_hooks=_training_hooks(
                logger, params, distributed, features, global_step,
                dict({name: terms[name] for name in LOSS_TERMS[params.loss] +
                      ('cross_entropy',)}, loss=loss, learning_rate=learning_rate)))

    return model_fn


def loss_terms(logits, probabilities, labels, params):
    """Every loss term a --loss may add up, by name: float32 scalars."""
    classes = labels['classes']
    terms = {'cross_entropy': losses.cross_entropy(logits, classes),
             'dice_loss': losses.dice_loss(probabilities, classes)}
    if params.weighted_loss:
        terms['weighted_cross_entropy'] = losses.weighted_cross_entropy(
            logits, classes, labels['pixel_weights'])
    if params.skeleton_loss:
        terms['skeleton_recall'] = losses.skeleton_recall(probabilities,
                                                          labels['pixel_weights'])
    terms['weight_decay'] = losses.l2_weight_decay(
        tf.compat.v1.trainable_variables(), params.weight_decay)
    return terms


def _train_op(loss, learning_rate, global_step, params, distributed, amp):
    """One step of the optimizer on the gradients averaged over the ranks, guarded against a
    loss or gradients that are not finite, then the weights' moving average (--ema_decay)."""
    optimizer = optimization.optimizer(params, learning_rate)
    optimizer = dist_lib.wrap_optimizer(optimizer, distributed)
    # Outside Horovod's wrapper: ranks average the scaled gradients, then unscale them.
    optimizer = precision.loss_scaled(optimizer, amp)
    grads_and_vars = optimizer.compute_gradients(loss)
    # float16 loss scaling (ours or the container's) skips steps with overflowing gradients
    # by itself.
    checked_gradients = ([g for g, _ in grads_and_vars] if amp.dtype != precision.FLOAT16
                         else [])
    with tf.control_dependencies([finite_guard(loss, checked_gradients, global_step,
                                               learning_rate, amp.dtype)]):
        train_op = optimizer.apply_gradients(grads_and_vars, global_step=global_step)
    if params.ema_decay:
        train_op = weight_average.after_step(train_op, params.ema_decay, global_step)
    return train_op


def _training_hooks(logger, params, distributed, features, global_step, logged):
    """The consistency check on every rank (its allgather is a collective), and on rank 0
    the progress lines of the `logged` tensors and the inspection hooks."""
    hooks = [ConsistencyHook(logger, features, dist_lib.allgather_fn(distributed),
                             [peer.host for peer in distributed.peers])]
    if distributed.is_chief:
        hooks.append(ProgressHook(
            logger, logged, global_step, params.batch_size * distributed.size,
            params.log_every, params.warmup_steps, params.max_steps, 'train_summary'))
        hooks += inspection_hooks(logger, params, 'train')
    return hooks


def _predicting_scaffold(config, logger):
    """Loads the weights' moving averages in place of the weights when the checkpoint
    predicted with holds them (a run with --ema_decay); else the weights as trained."""
    # The checkpoint the Estimator restores for prediction: the newest in its model_dir.
    checkpoint = config and tf.train.latest_checkpoint(config.model_dir)
    saver = weight_average.loading_saver(checkpoint)
    if saver is None:
        return None
    logger.message(f'predicting with the moving averages of the weights in {checkpoint} '
                   '(trained with --ema_decay)')
    return tf.compat.v1.train.Scaffold(saver=saver)


DROPOUT_STREAM = 1
"""Folded into the dropout seeds first, to keep them apart from the input pipeline's
(utils.data.input_fns), which fold the sample index into the same (--seed, rank) pair."""


def dropout_seed(seed, rank, global_step):
    """The seed of this step's dropout mask: a function of (--seed, rank, step) alone.

    A stateful random op would restart its sequence in every new graph, and the Estimator
    builds one for each train() call: each --eval_every interval and each resumed run would
    repeat the masks of the steps after the restart point, so the trained weights would
    depend on where training was interrupted. Drawn from the step, they do not.
    """
    stream = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, rank], tf.int64), DROPOUT_STREAM)
    return tf.random.experimental.stateless_fold_in(stream, global_step)


def _add_summaries(images, labels, probabilities, scalars):
    """TensorBoard scalars, and the first sample's input, label and prediction as images."""
    for name, value in scalars.items():
        tf.compat.v1.summary.scalar(name, value)
    tf.compat.v1.summary.image('input', (images[:1] + 1.0) / 2.0, max_outputs=1)
    tf.compat.v1.summary.image('label', _first_as_image(labels), max_outputs=1)
    tf.compat.v1.summary.image('prediction', _first_as_image(probabilities[..., BACKGROUND]),
                               max_outputs=1)


def _first_as_image(maps):
    """`[batch, H, W]` values in [0, 1] -> the first as a float32 `[1, H, W, 1]` image."""
    return tf.cast(maps[:1, ..., None], tf.float32)
