"""Entry point: flags -> Params -> runtime settings and logger -> runner.run(params).

    python main.py --exec_mode train_and_predict --data_dir ./data --model_dir ./results

TensorFlow is imported only once the flags and the data files are known to be valid, so
--help, flag errors and bad data files are reported at once.
"""
import argparse
import dataclasses
import os
import re
import sys

from utils import quiet_tensorflow
from utils.errors import Interrupted, UserError
from utils.params import (AUGMENTATIONS, DEFAULTS, EXEC_MODES, LOSSES, LR_SCALINGS,
                          LR_SCHEDULES, OPTIMIZERS, Params)

LOG_FILE = 'log.jsonl'


def build_parser():
    # allow_abbrev=False: a mistyped or unknown flag is an error, never silently the flag it
    # is a prefix of (argparse would take --input_s 300 as --input_size 300).
    parser = argparse.ArgumentParser(
        description='U-Net (Ronneberger et al. 2015) for EM membrane segmentation, trained '
                    'with tf.estimator and Horovod.', allow_abbrev=False)
    parser.add_argument('--exec_mode', choices=EXEC_MODES, default=DEFAULTS['exec_mode'],
                        help='What to run: train, predict the test volume, or both; evaluate '
                             'scores the held-out slices of --fold (or the test volume against '
                             'test-labels.tif), train_and_evaluate trains first; benchmark '
                             'times training and inference on synthetic tensors (pure compute, '
                             'no --data_dir); export writes a SavedModel of the checkpoint')
    parser.add_argument('--model_dir', default=DEFAULTS['model_dir'],
                        help='Directory for checkpoints, summaries, logs and predictions')
    parser.add_argument('--data_dir', default=DEFAULTS['data_dir'],
                        help='Directory with train-volume.tif, train-labels.tif, test-volume.tif '
                             '(required unless --exec_mode benchmark)')
    parser.add_argument('--batch_size', type=int, default=DEFAULTS['batch_size'],
                        help='Batch size per process (per GPU), in images; in prediction, '
                             'tiles per graph run, fewer when tiles are large')
    parser.add_argument('--max_steps', type=int, default=DEFAULTS['max_steps'],
                        help='Total training steps; a rerun resumes and stops here')
    parser.add_argument('--seed', type=int, default=DEFAULTS['seed'],
                        help='Seed of weights, dropout, sampling and augmentation')
    parser.add_argument('--weight_decay', type=float, default=DEFAULTS['weight_decay'],
                        help='L2 coefficient on convolution kernels, added to the loss')
    parser.add_argument('--log_every', type=int, default=DEFAULTS['log_every'],
                        help='Log progress and write summaries every N steps')
    parser.add_argument('--warmup_steps', type=int, default=DEFAULTS['warmup_steps'],
                        help='Steps excluded from the throughput summary')
    parser.add_argument('--learning_rate', type=float, default=DEFAULTS['learning_rate'],
                        help='Initial learning rate (default: 0.01 with --optimizer momentum, '
                             '0.0001 with adam)')
    parser.add_argument('--momentum', type=float, default=DEFAULTS['momentum'],
                        help='Momentum coefficient of SGD (--optimizer momentum only)')
    parser.add_argument('--decay_steps', type=float, default=DEFAULTS['decay_steps'],
                        help='Inverse time decay: lr / (1 + decay_rate * step / decay_steps)')
    parser.add_argument('--decay_rate', type=float, default=DEFAULTS['decay_rate'],
                        help='Inverse time decay rate (0 keeps the learning rate constant)')
    parser.add_argument('--lr_schedule', choices=LR_SCHEDULES, default=DEFAULTS['lr_schedule'],
                        help='inverse_time: the seed\'s decay (--decay_steps, --decay_rate); '
                             'cosine: from --learning_rate down to 0 at --max_steps')
    parser.add_argument('--lr_warmup_steps', type=int, metavar='N',
                        default=DEFAULTS['lr_warmup_steps'],
                        help='Raise the learning rate linearly from 0 over the first N steps, '
                             'then follow --lr_schedule (default: 0, none)')
    parser.add_argument('--ema_decay', type=float, metavar='D', default=DEFAULTS['ema_decay'],
                        help='Keep an exponential moving average of the weights with decay D '
                             '(e.g. 0.99) in the checkpoints; predict, evaluate and export '
                             'then use it instead of the last weights (default: 0, none)')
    parser.add_argument('--augment', dest='augment', action='store_true',
                        help='Augment training samples: flips, rotation, crop-and-resize, '
                             'elastic deformation, brightness (see --augmentation)')
    parser.add_argument('--no-augment', dest='augment', action='store_false')
    parser.set_defaults(augment=DEFAULTS['augment'])
    parser.add_argument('--augment_steps', type=int, metavar='N',
                        default=DEFAULTS['augment_steps'],
                        help='With --augment, augment only the first N training steps and '
                             'train on the slices as they are after them (0: augment every '
                             'step)')
    parser.add_argument('--augmentation', choices=AUGMENTATIONS,
                        default=DEFAULTS['augmentation'],
                        help='With --augment, full: every one --augment names (default); flips: the '
                             '8 mirror images and quarter turns and the brightness shift, '
                             'nothing that resamples the pixels')
    parser.add_argument('--optimizer', choices=OPTIMIZERS, default=DEFAULTS['optimizer'],
                        help='SGD with momentum, as the paper and the seed, or Adam '
                             '(NVIDIA\'s later recipe; use a learning rate near 1e-4)')
    parser.add_argument('--lr_scaling', choices=LR_SCALINGS, default=DEFAULTS['lr_scaling'],
                        help='linear: multiply the learning rate by the number of processes')
    parser.add_argument('--input_size', type=int, default=DEFAULTS['input_size'],
                        help='Side of the training input window in pixels, 16k+124 '
                             '(572 gives the paper\'s 388x388 output)')
    parser.add_argument('--use_amp', action='store_true',
                        help='Automatic mixed precision: float16 with loss scaling on a GPU, '
                             'bfloat16 on a CPU with native support (avx512_bf16 or AMX); '
                             'elsewhere a warning and float32')
    parser.add_argument('--use_xla', action='store_true',
                        help='Experimental: XLA JIT compilation of the graph')
    parser.add_argument('--benchmark', dest='benchmark', action='store_true',
                        help='Time the run instead of keeping it: img/s and latency '
                             'percentiles after --warmup_steps; no checkpoint read or '
                             'written, no predictions saved (predict runs --max_steps batches)')
    parser.add_argument('--no-benchmark', dest='benchmark', action='store_false')
    parser.set_defaults(benchmark=DEFAULTS['benchmark'])
    parser.add_argument('--save_checkpoints_steps', type=int,
                        default=DEFAULTS['save_checkpoints_steps'],
                        help='Write a checkpoint every N steps (and at the end, and on SIGINT '
                             'or SIGTERM); a rerun of the same command resumes from the newest')
    parser.add_argument('--keep_checkpoint_max', type=int,
                        default=DEFAULTS['keep_checkpoint_max'],
                        help='Keep this many newest checkpoints; older ones are deleted')
    parser.add_argument('--fold', type=int, default=DEFAULTS['fold'],
                        help='Hold out fold K of the training slices (contiguous blocks) from '
                             'training, for evaluation; default: train on every slice')
    parser.add_argument('--num_folds', type=int, default=DEFAULTS['num_folds'],
                        help='Number of folds --fold counts in (5: 6 of the 30 ISBI slices each)')
    parser.add_argument('--loss', choices=LOSSES, default=DEFAULTS['loss'],
                        help="ce_dice: the seed's cross-entropy + soft Dice; weighted_ce: the "
                             "paper's cross-entropy weighted by class balance and cell "
                             'separation (w0 = 10, sigma = 5 px); weighted_ce_dice: both')
    parser.add_argument('--eval_every', type=int, default=DEFAULTS['eval_every'],
                        help='With --exec_mode train_and_evaluate: also evaluate every N steps, '
                             'and keep the checkpoint with the best V_rand in <model_dir>/best '
                             '(0: only at the end)')
    parser.add_argument('--tta', action='store_true',
                        help='Test-time augmentation: average the probabilities over the 8 '
                             'flips and rotations (8 times the prediction time)')
    parser.add_argument('--profile_step', type=int, default=DEFAULTS['profile_step'],
                        help='Trace the Nth step of this run\'s training and of each '
                             'prediction: time per op type in the log, a Chrome trace in '
                             '<model_dir>/profile (0: off)')
    own_data = parser.add_argument_group(
        'your own images', 'With --exec_mode predict and a trained --model_dir: segment any '
        'TIFF stack, TIFF, PNG or JPEG image, folder of them or glob into --output_dir')
    own_data.add_argument('--input', action='append', metavar='PATH',
                          help='A file, folder or glob to predict (repeat for more); '
                               'instead of <data_dir>/test-volume.tif')
    own_data.add_argument('--output_dir', default=DEFAULTS['output_dir'],
                          help='Folder for <name>_probs.tif (float32 probability of '
                               'non-membrane), <name>_mask.tif/.png (0 = membrane) and '
                               'overlays/')
    own_data.add_argument('--overwrite', action='store_true',
                          help='Replace outputs of the same names in --output_dir (refused '
                               'otherwise)')
    own_data.add_argument('--saved_model', metavar='DIR', default=DEFAULTS['saved_model'],
                          help='Predict with this SavedModel (--exec_mode export) instead of '
                               '--model_dir\'s checkpoint; --model_dir then takes only the log')
    own_data.add_argument('--overlays', action='store_true',
                          help='Also write a PNG per page: the image and the predicted '
                               'membranes, with a legend')
    return parser


def configure_runtime(params):
    """Environment for TensorFlow and Horovod, set before they are imported and initialised.

    Values the user already set are kept.
    """
    if params.use_xla:
        # The session's global JIT level clusters GPU ops only, unless this admits CPU ops.
        flags = os.environ.get('TF_XLA_FLAGS', '')
        if '--tf_xla_cpu_global_jit' not in flags:
            os.environ['TF_XLA_FLAGS'] = f'{flags} --tf_xla_cpu_global_jit'.strip()
    # Keep TF's C++ INFO and WARNING lines out of the progress log; errors still show.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    # A rank that dies ends the job at once (horovodrun stops the others). A rank that hangs
    # ends it when its peers give up waiting: Gloo after this many seconds (Horovod's default
    # of 30 s is shorter than rank 0's checkpoint writes on a slow shared file system) ...
    os.environ.setdefault('HOROVOD_GLOO_TIMEOUT_SECONDS', '120')
    # ... and MPI/NCCL jobs when a collective has stalled this long (Horovod's default: never;
    # its warning after 60 s stays).
    os.environ.setdefault('HOROVOD_STALL_SHUTDOWN_TIME_SECONDS', '300')


def decide_amp(params, gpu_visible):
    """What --use_amp does on this device (utils.precision.Amp), with its environment set:
    before any graph is built, which is when TensorFlow reads it."""
    from utils import precision
    amp = precision.decide_amp(params.use_amp, gpu_visible, precision.cpu_flags(), os.environ)
    os.environ.update(amp.environment)
    return amp


def build_logger(params, distributed):
    """Rank 0 logs to stdout and <model_dir>/log.jsonl; other ranks log nowhere."""
    import dllogger
    if not distributed.is_chief:
        return dllogger.Logger()
    os.makedirs(params.model_dir, exist_ok=True)
    return dllogger.Logger([dllogger.StdOutBackend(),
                            dllogger.JsonLinesBackend(os.path.join(params.model_dir, LOG_FILE))])


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        params = Params(**vars(args))
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2

    configure_runtime(params)
    from utils import data_files
    try:
        # Before TensorFlow starts: a bad file is reported in a second.
        inputs = data_files.load_inputs(params)
    except UserError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2

    tf = quiet_tensorflow.import_tensorflow()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    from utils import distributed as dist_lib
    try:
        distributed, notice = dist_lib.init(os.environ)
    except RuntimeError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2

    from utils.device import Device
    gpu_visible = bool(tf.config.list_physical_devices('GPU'))
    device = Device(gpu_visible, decide_amp(params, gpu_visible))
    from utils import estimator_setup, files, runner
    logger = None
    try:
        # Checked before the logger creates anything in model_dir.
        space_warning = estimator_setup.check_model_dir(params, distributed, device.amp)
        logger = build_logger(params, distributed)
        for message in (notice, device.amp.message, space_warning):
            if message:
                logger.message(message)
        logger.log('params', dataclasses.asdict(params))
        runner.run(params, inputs, logger, distributed, device)
    except (UserError, OSError) as err:
        print(f'error: {files.describe(err)}', file=sys.stderr)
        return 2
    except tf.errors.ResourceExhaustedError as err:
        print(f'error: {out_of_memory(err.message, params, gpu_visible)}', file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        return stop.exit_code
    finally:
        if logger is not None:
            logger.close()
    return 0


def out_of_memory(text, params, gpu_visible):
    """One line for TensorFlow's out-of-memory error `text`: what ran out, the sizes that
    decide it, and what to try."""
    shape = re.search(r'OOM when allocating tensor with shape\s*\[([^\]]*)\]', text)
    tensor = f' (a tensor of shape [{shape[1]}])' if shape else ''
    device = 'GPU' if gpu_visible else 'CPU'
    amp = ', or --use_amp' if gpu_visible and not params.use_amp else ''
    return (f'out of {device} memory{tensor} with --batch_size={params.batch_size} '
            f'--input_size={params.input_size}; try a smaller --batch_size or --input_size{amp}')


if __name__ == '__main__':
    sys.exit(main())
