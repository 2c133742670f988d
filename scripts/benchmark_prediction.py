"""How fast `main.py --exec_mode predict --input` runs on a user's files, next to the pure
compute of the same tiles.

    python scripts/benchmark_prediction.py [--output results/benchmark_prediction.json]

Each case predicts n and then 2n inputs in fresh processes, as a user would, and divides the
extra tiles by the extra wall time: what a process pays once (importing TensorFlow, building
the graph, restoring the checkpoint) cancels out, and what is left is the rate of the
pipeline, the network and the writers together. Cases:
- 512x512 slices as PNG files, and the same slices as one TIFF stack;
- the benchmark modes' inference with tiles of the size those slices are cut into: pure
  compute on tiles already in memory, no reading, stitching or writing;
- many 128x128 images against 2048x2048 pages, in tile input pixels per second (a small
  image needs its own mirrored context, so its tile is larger than the image). The 2048x2048
  pages are a TIFF stack of one page and then of --large_pages pages, and the peak resident
  memory of every run is reported, to show whether it grows with the stack's length.

It prints a Markdown table and writes every measured figure as JSON. Shared machines are
noisy, and other tenants only ever slow a process down: the cases are measured --repeats times
in turn, and each figure is taken from its least disturbed repeat (the shortest wall time of
each process); compare figures of one run, not across runs.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from utils.data import synthetic  # noqa: E402
from utils.data.tiff_io import write_stack  # noqa: E402
from utils.data.tiling import plan_tiles  # noqa: E402

MAIN = os.path.join(ROOT, 'main.py')


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--output', default=os.path.join('results', 'benchmark_prediction.json'))
    parser.add_argument('--slices', type=int, default=16,
                        help='n for the 512x512 cases (PNG files and TIFF stack)')
    parser.add_argument('--small_images', type=int, default=64, help='n of 128x128 images')
    parser.add_argument('--large_pages', type=int, default=6,
                        help='pages of 2048x2048 in the longer stack (the shorter has one)')
    parser.add_argument('--sizes', default='512,128,2048',
                        help='sides of the slice, small and large cases (smaller ones for a '
                             'quick check)')
    parser.add_argument('--batch_size', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=3,
                        help='measure every case this many times, in turn, and keep the least '
                             'disturbed figures')
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(side) for side in args.sizes.split(',')]
    except ValueError:
        parser.error(f'--sizes={args.sizes!r}: expected three integers like 512,128,2048')
    if len(args.sizes) != 3 or min(args.sizes) < 1:
        parser.error(f'--sizes={args.sizes}: expected three sides >= 1')
    if min(args.slices, args.small_images, args.batch_size, args.repeats) < 1:
        parser.error('--slices, --small_images, --batch_size and --repeats must be >= 1')
    if args.large_pages < 2:
        parser.error(f'--large_pages={args.large_pages}: expected >= 2 (the shorter stack '
                     'has one page)')
    return args


def _write_pngs(folder, pages):
    from PIL import Image
    os.makedirs(folder)
    for i, page in enumerate(pages):
        Image.fromarray(page).save(os.path.join(folder, f'slice_{i}.png'))
    return folder


def _write_tiff(folder, pages):
    os.makedirs(folder)
    path = os.path.join(folder, 'stack.tif')
    write_stack(path, pages)
    return path


def _run(argv):
    """Runs main.py; returns its wall time in seconds and its peak resident memory in MiB. A
    failure ends the benchmark."""
    started = time.perf_counter()
    with tempfile.TemporaryFile('w+') as err:
        child = subprocess.Popen([sys.executable, MAIN, *argv], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=err,
                                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
        # wait4, not Popen.wait: it returns this child's own rusage, not all children's.
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        if child.returncode != 0:
            err.seek(0)
            sys.exit(f'error: main.py {" ".join(argv)} failed:\n{err.read()}')
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _tiles(pages):
    """(tiles, tile input pixels) the product cuts `pages` into."""
    tiles = pixels = 0
    for page in pages:
        plan = plan_tiles(*page.shape)
        tiles += len(plan.offsets)
        pixels += len(plan.offsets) * plan.input_shape[0] * plan.input_shape[1]
    return tiles, pixels


def _marginal(name, scratch, model_dir, write, pages, batch_size, first=None):
    """Predicts the `first` of `pages` (half by default) and then all of them, each set written
    by `write` into a folder of its own; their wall times and the extra tiles of the second."""
    first = first or len(pages) // 2
    seconds, peak_rss = [], []
    for count in (first, len(pages)):
        source = write(os.path.join(scratch, f'{name}_{count}'), pages[:count])
        run_seconds, run_rss = _run(['--exec_mode', 'predict', '--model_dir', model_dir,
                                     '--input', source, '--output_dir',
                                     os.path.join(scratch, f'out_{name}_{count}'),
                                     '--batch_size', str(batch_size)])
        seconds.append(run_seconds)
        peak_rss.append(run_rss)
    tiles, pixels = (b - a for a, b in zip(_tiles(pages[:first]), _tiles(pages)))
    return {'case': name, 'inputs': [first, len(pages)], 'seconds': seconds,
            'peak_rss_mib': peak_rss, 'extra_tiles': tiles, 'extra_pixels': pixels,
            'tile_side': plan_tiles(*pages[0].shape).input_shape[0]}


def _compute_only(scratch, model_dir, slices, batch_size, steps=14, warmup=2):
    """The inference rate of the benchmark modes on the tiles `slices` are cut into, in tiles
    per second: `--exec_mode predict --benchmark` runs the inference half of `--exec_mode
    benchmark` (batches of tiles already in memory, nothing read or written per batch) without
    the training half, which would cost more than all the other cases together. It cuts the
    test volume of --data_dir (its --input_size is the training window's), so the slices
    themselves are that volume: the same tiles as the files' cases."""
    data_dir = _compute_data(scratch, slices)
    _, peak_rss = _run(['--exec_mode', 'predict', '--benchmark', '--data_dir', data_dir,
                        '--model_dir', model_dir, '--batch_size', str(batch_size),
                        '--max_steps', str(steps), '--warmup_steps', str(warmup)])
    with open(os.path.join(model_dir, 'log.jsonl')) as log:
        records = [json.loads(line) for line in log]
    summary = [r['data'] for r in records if r.get('step') == 'predict_summary'][-1]
    timed = [r['data'] for r in records if r.get('step') == 'predict_tiles'][-1]
    tile_side = plan_tiles(*slices[0].shape).input_shape[0]
    if (timed['tile_height'], timed['tile_width']) != (tile_side, tile_side):
        sys.exit(f'error: --benchmark timed {timed["tile_height"]}x{timed["tile_width"]} '
                 f'tiles, the files are cut into {tile_side}x{tile_side}: not comparable')
    return {'case': f'inference of {tile_side}x{tile_side} tiles in memory (--benchmark)',
            'tiles_per_sec': summary['images_per_sec'],
            'input_mpixels_per_sec': summary['images_per_sec'] * tile_side ** 2 / 1e6,
            'tile_side': tile_side, 'measured_steps': summary['measured_steps'],
            'peak_rss_mib': [peak_rss]}


def _compute_data(scratch, slices):
    """A --data_dir whose test volume is `slices`."""
    data_dir = os.path.join(scratch, 'compute_data')
    os.makedirs(data_dir)
    write_stack(os.path.join(data_dir, 'test-volume.tif'), slices)
    return data_dir


def _combined(repeats):
    """One case's repeated measurements as one row. Other tenants only ever add time, so the
    least disturbed figure of each process is its shortest wall time over the repeats (the
    rate of the extra tiles is taken between those), or, for the compute case, timed inside
    its process, its fastest repeat. Memory keeps the highest of each process."""
    row = dict(repeats[0], peak_rss_mib=[max(rss) for rss in
                                         zip(*(r['peak_rss_mib'] for r in repeats))])
    if 'seconds' in row:
        row['every_seconds'] = [r['seconds'] for r in repeats]
        row['seconds'] = [min(times) for times in zip(*row['every_seconds'])]
        extra = row['seconds'][1] - row['seconds'][0]
        row['tiles_per_sec'] = row['extra_tiles'] / extra
        row['input_mpixels_per_sec'] = row['extra_pixels'] / extra / 1e6
    else:
        row['every_tiles_per_sec'] = [r['tiles_per_sec'] for r in repeats]
        fastest = max(repeats, key=lambda r: r['tiles_per_sec'])
        row.update(tiles_per_sec=fastest['tiles_per_sec'],
                   input_mpixels_per_sec=fastest['input_mpixels_per_sec'])
    return row


def _train_one_step(scratch):
    """A checkpoint to predict with: one step on generated slices (speed needs no accuracy)."""
    data_dir = os.path.join(scratch, 'data')
    os.makedirs(data_dir)
    synthetic.generate_dataset(data_dir, seed=0, train_pages=2, test_pages=1, size=256)
    model_dir = os.path.join(scratch, 'model')
    _run(['--exec_mode', 'train', '--data_dir', data_dir, '--model_dir', model_dir,
          '--max_steps', '1', '--input_size', '188'])
    return model_dir


def machine():
    model = ''
    try:
        with open('/proc/cpuinfo') as info:
            model = next(line.split(':', 1)[1].strip() for line in info
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return {'cpu': model or platform.processor(), 'cores': len(os.sched_getaffinity(0)),
            'date': datetime.date.today().isoformat()}


def main(argv=None):
    args = parse_args(argv)
    side, small, large = args.sizes
    slices = synthetic.generate_stack(0, 2 * args.slices, side)[0]
    rng = np.random.default_rng(1)
    small_images = rng.integers(0, 256, (2 * args.small_images, small, small), np.uint8)
    large_pages = rng.integers(0, 256, (args.large_pages, large, large), np.uint8)
    with tempfile.TemporaryDirectory(prefix='benchmark_prediction_') as scratch:
        model_dir = _train_one_step(scratch)
        repeats = []
        for repeat in range(args.repeats):
            folder = os.path.join(scratch, f'repeat_{repeat}')
            os.makedirs(folder)
            repeats.append([
                _marginal('png', folder, model_dir, _write_pngs, slices, args.batch_size),
                _marginal('tiff_stack', folder, model_dir, _write_tiff, slices,
                          args.batch_size),
                _compute_only(folder, model_dir, slices, args.batch_size),
                _marginal('small_png', folder, model_dir, _write_pngs, small_images,
                          args.batch_size),
                _marginal('large_stack', folder, model_dir, _write_tiff, large_pages,
                          args.batch_size, first=1)])
    rows = [_combined(measured) for measured in zip(*repeats)]
    png, stack, compute, tiny, big = rows
    report = {'machine': machine(), 'batch_size': args.batch_size, 'repeats': args.repeats,
              'rows': rows, 'ratios': {
        'png_over_stack': png['tiles_per_sec'] / stack['tiles_per_sec'],
        'png_over_compute': png['tiles_per_sec'] / compute['tiles_per_sec'],
        'stack_over_compute': stack['tiles_per_sec'] / compute['tiles_per_sec'],
        'small_over_large_pixels': (tiny['input_mpixels_per_sec'] /
                                    big['input_mpixels_per_sec']),
        'large_stack_rss_growth_mib': big['peak_rss_mib'][1] - big['peak_rss_mib'][0]}}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, 'w') as out:
        json.dump(report, out, indent=1)
    print(f'{report["machine"]["cpu"]}, {report["machine"]["cores"]} cores, '
          f'{report["machine"]["date"]}, --batch_size {args.batch_size}, --repeats '
          f'{args.repeats}\n')
    print('| case | inputs | wall s of each repeat, or its tiles/s | tile | tiles/s | '
          'tile input Mpx/s | peak RSS MiB |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for row in rows:
        inputs = ' then '.join(map(str, row.get('inputs', []))) or '-'
        every = ('; '.join(' then '.join(f'{t:.0f}' for t in times)
                           for times in row['every_seconds']) if 'every_seconds' in row
                 else '; '.join(f'{rate:.3f}' for rate in row['every_tiles_per_sec']))
        rss = ' then '.join(f'{mib:.0f}' for mib in row['peak_rss_mib'])
        print(f'| {row["case"]} | {inputs} | {every} | {row["tile_side"]} | '
              f'{row["tiles_per_sec"]:.3f} | {row["input_mpixels_per_sec"]:.3f} | {rss} |')
    print()
    for name, value in report['ratios'].items():
        print(f'{name}: {value:.3f}')
    print(f'\nwrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
