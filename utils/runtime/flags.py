"""main.py's command line: NVIDIA's recipe's flags with their names, meanings and defaults, and
the ones this recipe adds. Each flag's destination is a Params field (utils.runtime.params)."""
import argparse

from utils.runtime.params import (AUGMENTATIONS, DEFAULTS, EXEC_MODES, LOSSES, LR_SCALINGS,
                                  LR_SCHEDULES, OPTIMIZERS)


def build_parser():
    # allow_abbrev=False: a mistyped or unknown flag is an error, never silently the flag it
    # is a prefix of (argparse would take --input_s 300 as --input_size 300).
    parser = argparse.ArgumentParser(
        description='U-Net (Ronneberger et al. 2015) for EM membrane segmentation, trained '
                    'with tf.estimator and Horovod.', allow_abbrev=False)
    for add_flags in (_run_flags, _learning_rate_flags, _augmentation_flags,
                      _model_and_speed_flags, _checkpoint_and_evaluation_flags):
        add_flags(parser)
    _own_images_flags(parser)
    return parser


def _switch(parser, name, help):
    """--name and --no-name, the last given winning, with Params' default."""
    parser.add_argument(f'--{name}', dest=name, action='store_true', help=help)
    parser.add_argument(f'--no-{name}', dest=name, action='store_false')
    parser.set_defaults(**{name: DEFAULTS[name]})


def _run_flags(parser):
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


def _learning_rate_flags(parser):
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
                        help="inverse_time: NVIDIA's recipe's decay (--decay_steps, "
                             "--decay_rate); "
                             'cosine: from --learning_rate down to 0 at --max_steps')
    parser.add_argument('--lr_warmup_steps', type=int, metavar='N',
                        default=DEFAULTS['lr_warmup_steps'],
                        help='Raise the learning rate linearly from 0 over the first N steps, '
                             'then follow --lr_schedule (default: 0, none)')
    parser.add_argument('--ema_decay', type=float, metavar='D', default=DEFAULTS['ema_decay'],
                        help='Keep an exponential moving average of the weights with decay D '
                             '(e.g. 0.99) in the checkpoints; predict, evaluate and export '
                             'then use it instead of the last weights (default: 0, none)')


def _augmentation_flags(parser):
    _switch(parser, 'augment', 'Augment training samples: flips, rotation, crop-and-resize, '
                               'elastic deformation, brightness (see --augmentation)')
    parser.add_argument('--augment_steps', type=int, metavar='N',
                        default=DEFAULTS['augment_steps'],
                        help='With --augment, augment only the first N training steps and '
                             'train on the slices as they are after them (0: augment every '
                             'step)')
    parser.add_argument('--augmentation', choices=AUGMENTATIONS,
                        default=DEFAULTS['augmentation'],
                        help='With --augment, full: every one --augment names (default); '
                             'flips: the 8 mirror images and quarter turns and the brightness '
                             'shift, nothing that resamples the pixels')
    parser.add_argument('--contrast_augment', type=float, metavar='S',
                        default=DEFAULTS['contrast_augment'],
                        help='With --augment, also bend the intensities by a gamma in '
                             '[1/(1+S), 1+S] and scale their contrast by a factor in '
                             '[1-S, 1+S], drawn per window (default: 0, neither)')


def _model_and_speed_flags(parser):
    parser.add_argument('--optimizer', choices=OPTIMIZERS, default=DEFAULTS['optimizer'],
                        help='SGD with momentum, as the paper and NVIDIA\'s recipe, or Adam '
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
    _switch(parser, 'benchmark', 'Time the run instead of keeping it: img/s and latency '
                                 'percentiles after --warmup_steps; no checkpoint read or '
                                 'written, no predictions saved (predict runs --max_steps '
                                 'batches)')


def _checkpoint_and_evaluation_flags(parser):
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
                        help="ce_dice: NVIDIA's recipe's cross-entropy + soft Dice; "
                             "weighted_ce: the paper's cross-entropy weighted by class balance "
                             'and cell separation (--border_weight, sigma = 5 px); '
                             'weighted_ce_dice: both; ce_dice_skeleton: ce_dice + 1 - the '
                             'recall of the true membranes\' centre lines, where a gap merges '
                             'two cells')
    parser.add_argument('--border_weight', type=float, metavar='W0',
                        default=DEFAULTS['border_weight'],
                        help="With a weighted --loss, the paper's w0: the weight added on the "
                             'thin membranes between touching cells (default: 10, the paper\'s)')
    parser.add_argument('--eval_every', type=int, default=DEFAULTS['eval_every'],
                        help='With --exec_mode train_and_evaluate: also evaluate every N steps, '
                             'and keep the checkpoint with the best V_rand in <model_dir>/best '
                             '(0: only at the end)')
    parser.add_argument('--tta', action='store_true',
                        help='Test-time augmentation: average the probabilities over the 8 '
                             'flips and rotations (8 times the prediction time)')
    _switch(parser, 'cells', 'Also draw the cells: a watershed of the membrane probability '
                             'that closes every contour, written as labels (a number per '
                             'cell, 0 on the lines between them) and as a mask with those '
                             'lines as membrane; evaluate scores it beside the raw '
                             'probabilities')
    parser.add_argument('--cell_smoothing', type=float, metavar='SIGMA',
                        default=DEFAULTS['cell_smoothing'],
                        help='Gaussian sigma in pixels over the membrane probability before '
                             'the watershed (default: %(default)s)')
    parser.add_argument('--cell_marker_depth', type=float, metavar='H',
                        default=DEFAULTS['cell_marker_depth'],
                        help='A basin of the smoothed membrane probability is a cell of its '
                             'own when its rim is at least H above its floor; a larger H '
                             'joins more (default: %(default)s)')
    parser.add_argument('--profile_step', type=int, default=DEFAULTS['profile_step'],
                        help='Trace the Nth step of this run\'s training and of each '
                             'prediction: time per op type in the log, a Chrome trace in '
                             '<model_dir>/profile (0: off)')


def _own_images_flags(parser):
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
