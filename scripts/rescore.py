"""The held-out scores of one evaluation under other post-processing: the raw probabilities,
calibrated at other temperatures, and closed into cells by other watershed settings.

    python scripts/rescore.py --data_dir DIR --eval_dir RUN/eval
        [--temperatures 1,1.25,1.5] [--watersheds 1:0.1,1:0.3] [--per_slice]

It reads what evaluate wrote (held-out-probs.tif, and metrics.json for the slices and the
fold) and the labels of those slices from --data_dir, so it needs no TensorFlow and no
retraining: it is how the watershed's defaults and the calibration were chosen on folds 0
and 1 (docs/accuracy.md). A temperature T maps each probability p to
sigmoid(logit(p) / T): T > 1 softens an over-confident network, and p = 0.5 stays 0.5, so the
masks do not change. A watershed is SIGMA:DEPTH (main.py's --cell_smoothing and
--cell_marker_depth), applied after the calibration. It prints a Markdown table.
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image, ImageSequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from utils.data import slices  # noqa: E402
from utils.data.dataset import BACKGROUND, load_training_data  # noqa: E402
from utils.outputs import cells as cells_lib  # noqa: E402
from utils.outputs import scores  # noqa: E402
from utils.outputs.names import EVAL_PROBS_FILE, METRICS_FILE  # noqa: E402
from utils.runtime.errors import DatasetError  # noqa: E402


def calibrated(background_probs, temperature):
    """sigmoid(logit(p) / temperature), page by page, float32."""
    if temperature == 1:
        return background_probs
    pages = []
    for page in background_probs:
        p = np.clip(np.asarray(page, np.float64), 1e-12, 1 - 1e-12)
        pages.append((1 / (1 + np.exp(-(np.log(p) - np.log1p(-p)) / temperature)))
                     .astype(np.float32))
    return slices.stacked_if_equal(pages)


def closed(background_probs, watershed):
    return slices.stacked_if_equal(
        [cells_lib.closed_probs(page, watershed.cells(page)) for page in background_probs])


def read_pages(path):
    with Image.open(path) as image:
        return slices.stacked_if_equal([np.asarray(page, np.float32)
                                        for page in ImageSequence.Iterator(image)])


def variants(background_probs, temperatures, watersheds):
    """(name, probabilities) of every combination asked for, raw first."""
    for temperature in temperatures:
        probs = calibrated(background_probs, temperature)
        name = 'raw' if temperature == 1 else f'T {temperature:g}'
        yield name, probs
        for watershed in watersheds:
            yield (f'{name}, cells (sigma {watershed.smoothing:g}, depth '
                   f'{watershed.depth:g})', closed(probs, watershed))


def row(name, probs, background, per_slice):
    result = scores.evaluate(probs, background)
    cells = [name, f'{result["v_rand_thin"]:.4f} ({result["v_rand_thin_threshold"]:.1f})',
             f'{result["v_info_thin"]:.4f} ({result["v_info_thin_threshold"]:.1f})',
             f'{result["dice_membrane"]:.4f}']
    if per_slice:
        threshold = result['v_rand_thin_threshold']
        cells.append(' / '.join(
            f'{scores.challenge_scores(page[None], truth[None])[threshold][0]:.3f}'
            for page, truth in zip(probs, background)))
    return '| ' + ' | '.join(cells) + ' |'


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data_dir', required=True, help='The training data evaluated')
    parser.add_argument('--eval_dir', required=True, help='<model_dir>/eval of the run')
    parser.add_argument('--temperatures', default='1',
                        help='Comma-separated temperatures (1: the probabilities as written)')
    parser.add_argument('--watersheds', default='',
                        help='Comma-separated SIGMA:DEPTH watershed settings')
    parser.add_argument('--per_slice', action='store_true',
                        help="Also each slice's V_rand at the stack's best threshold")
    args = parser.parse_args(argv)
    try:
        args.temperatures = [float(t) for t in args.temperatures.split(',')]
        args.watersheds = [cells_lib.Watershed(*map(float, w.split(':')))
                           for w in args.watersheds.split(',') if w]
    except (TypeError, ValueError):
        parser.error('--temperatures takes numbers, --watersheds SIGMA:DEPTH pairs')
    if min(args.temperatures) <= 0:
        parser.error('--temperatures: each must be > 0')
    return args


def read_evaluation(args):
    """The evaluation's metrics, the truth of its slices and its probabilities."""
    path = os.path.join(args.eval_dir, METRICS_FILE)
    try:
        with open(path) as f:
            metrics = json.load(f)
        slice_indices = metrics['slices']
        path = os.path.join(args.eval_dir, EVAL_PROBS_FILE)
        background_probs = read_pages(path)
    except (OSError, ValueError, KeyError) as err:
        raise DatasetError(f'{path}: not an evaluation of main.py (--exec_mode evaluate writes '
                           f'one): {err}') from None
    _, classes = load_training_data(args.data_dir)
    if max(slice_indices) >= len(classes):
        raise DatasetError(f'{args.data_dir}: {len(classes)} labelled slices, but the '
                           f'evaluation scored slice {max(slice_indices)}')
    background = slices.stacked_if_equal(classes[i] == BACKGROUND for i in slice_indices)
    return metrics, background, background_probs


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        metrics, background, background_probs = read_evaluation(args)
    except DatasetError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'fold {metrics["fold"]}, step {metrics["step"]}, slices {metrics["slices"]}')
    head = ['variant', 'V_rand thin (threshold)', 'V_info thin (threshold)', 'Dice membrane']
    if args.per_slice:
        head.append('V_rand per slice')
    print('| ' + ' | '.join(head) + ' |\n' + '| --- ' * len(head) + '|')
    for name, probs in variants(background_probs, args.temperatures, args.watersheds):
        print(row(name, probs, background, args.per_slice), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
