"""How fast the U-Net trains and infers here, next to this machine's own peak.

    python scripts/benchmark.py [--data_dir DIR] [--output results/benchmark.json]
                                [--pytorch_python PATH]

One run measures, each in its own `main.py` process, as a user would run it:
- for batch sizes {1, 2, 4} x {FP32, AMP}: training and inference of 572x572 tiles on
  synthetic tensors (`--exec_mode benchmark`, pure compute): img/s, latency mean / p90 / p95 /
  p99 per batch, and the FLOP rate as a fraction of the matmul peak (scripts/matmul_peak.py)
  of the type the convolutions really ran in (the run's 'executed_graph' record). Shared
  machines drift by tens of percent in minutes, so every timed run is bracketed by two peak
  measurements and compared with their mean, each the sustained rate of several products
  (the best single product is recorded too). Where --use_amp falls back to float32, one AMP
  run shows it and the rest are skipped;
- right after the first of those runs, so under the same conditions: training on ISBI-format
  data with augmentation (`--exec_mode train --benchmark --augment`), as a fraction of the
  peak and of the synthetic-input rate (the input pipeline's cost); inference of whole slices
  as the product tiles them (`--exec_mode predict --benchmark`) against the tiles that would
  cover a slice (four 572x572 tiles for 512x512);
  with --pytorch_python, the same network in PyTorch (scripts/pytorch_reference.py, float32,
  channels_last: its best configuration here), bracketed by peaks like the rows, so that the
  two can be compared as measured and at equal peak; and, with jemalloc installed, the same
  run without it: what the allocator is worth.

It prints a Markdown table and writes every measured record as JSON. Shared machines are
noisy: compare figures of one run, not across runs.
"""
import argparse
import ctypes.util
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from model.sizes import INPUT_TILE, check_input_size  # noqa: E402

PRECISIONS = {'fp32': [], 'amp': ['--use_amp']}
DTYPES = ('float32', 'bfloat16')
"""The types scripts/matmul_peak.py measures."""
JEMALLOC = 'libjemalloc.so.2'


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data_dir', help='ISBI-format data for the pipeline and whole-slice '
                                           'runs (default: 30+8 generated 512x512 slices)')
    parser.add_argument('--output', default=os.path.join('results', 'benchmark.json'))
    parser.add_argument('--batch_sizes', default='1,2,4')
    parser.add_argument('--precisions', default='fp32,amp')
    parser.add_argument('--steps', type=int, default=6, help='measured steps per run')
    parser.add_argument('--warmup_steps', type=int, default=2)
    parser.add_argument('--jemalloc', choices=('auto', 'off'), default='auto',
                        help=f'auto: preload {JEMALLOC} when the system has it')
    parser.add_argument('--input_size', type=int, default=INPUT_TILE,
                        help='side of the timed windows (smaller ones for a quick check)')
    parser.add_argument('--peak_size', type=int, default=4096, help='side of the peak matmul')
    parser.add_argument('--peak_repeats', type=int, default=5,
                        help='timed products per peak measurement')
    parser.add_argument('--pytorch_python', metavar='PATH',
                        help='a Python with torch installed: time the same network in PyTorch '
                             'after the first row pair, bracketed by peaks like the rows')
    args = parser.parse_args(argv)
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(',')]
    except ValueError:
        parser.error(f'--batch_sizes={args.batch_sizes!r}: expected integers like 1,2,4')
    args.precisions = args.precisions.split(',')
    if not set(args.precisions) <= set(PRECISIONS) or not args.precisions:
        parser.error(f'--precisions: expected a list of {", ".join(PRECISIONS)}')
    if min(args.batch_sizes) < 1 or args.steps < 1 or args.warmup_steps < 0:
        parser.error('batch sizes and --steps must be >= 1, --warmup_steps >= 0')
    if args.peak_size < 1 or args.peak_repeats < 1:
        parser.error('--peak_size and --peak_repeats must be >= 1')
    try:
        check_input_size(args.input_size, args.input_size)
    except ValueError as err:
        parser.error(f'--input_size: {err}')
    if args.pytorch_python and not os.access(args.pytorch_python, os.X_OK):
        parser.error(f'--pytorch_python={args.pytorch_python}: not an executable')
    if args.data_dir and not os.path.isdir(args.data_dir):
        parser.error(f'--data_dir={args.data_dir}: not a directory')
    return args


class Runner:
    """Runs main.py and scripts/ in fresh processes, each in a scratch model_dir, and measures
    the matmul peak after each timed run (the peak before it is the previous run's after)."""

    def __init__(self, scratch, preload, peak_flags):
        self.scratch = scratch
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
        self.env.pop('LD_PRELOAD', None)
        self.preload = preload
        self.peak_flags = peak_flags
        self.peaks = []
        self.count = 0

    def environ(self, preload):
        env = dict(self.env)
        if preload and self.preload:
            env['LD_PRELOAD'] = self.preload
        return env

    def peak(self):
        """Measures the matmul peak now: {dtype: {'best', 'sustained'} GFLOP/s}."""
        result = self._run([os.path.join(ROOT, 'scripts', 'matmul_peak.py'), *self.peak_flags],
                           True)
        peak = json.loads(result.stdout.strip().splitlines()[-1])
        self.peaks.append(peak)
        return peak

    def bracketed(self, run):
        """Calls `run()` between two peak measurements.

        Returns:
            (its result, {dtype: mean of the two sustained peaks}).
        """
        before = self.peaks[-1] if self.peaks else self.peak()
        result = run()
        after = self.peak()
        return result, {dtype: (before[dtype]['sustained'] + after[dtype]['sustained']) / 2
                        for dtype in DTYPES}

    def main(self, flags, preload=True):
        """Runs main.py with `flags`; returns {step name: data} of its log's records."""
        self.count += 1
        model_dir = os.path.join(self.scratch, f'run{self.count}')
        self._run([os.path.join(ROOT, 'main.py'), '--model_dir', model_dir, *flags], preload)
        records = {}
        with open(os.path.join(model_dir, 'log.jsonl')) as log:
            for line in log:
                record = json.loads(line)
                if record.get('type') == 'metric' and isinstance(record['step'], str):
                    step = record['step']
                    if step == 'executed_graph':
                        step = f"{record['data']['mode']}_graph"
                    records[step] = record['data']
                elif record.get('type') == 'message':
                    records.setdefault('messages', []).append(record['text'])
        return records

    def _run(self, argv, preload):
        print('$ python', ' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
                                   for a in argv), file=sys.stderr, flush=True)
        result = subprocess.run([sys.executable, *argv], cwd=ROOT, env=self.environ(preload),
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f'benchmark: {" ".join(argv)} failed:\n{result.stderr[-2000:]}')
        return result


def conv_dtype(graph_record):
    """The type the convolutions ran in, e.g. 'float32', or 'mixed' if several."""
    dtypes = list(graph_record['convolution'])
    return dtypes[0] if len(dtypes) == 1 else 'mixed'


def row(mode, batch, precision, summary, graph, flops_per_image, peaks, data='synthetic'):
    dtype = conv_dtype(graph)
    gflops = summary['images_per_sec'] * flops_per_image / 1e9
    peak = peaks.get(dtype)
    return {
        'mode': mode, 'data': data, 'batch_size': batch, 'precision': precision,
        'conv_dtype': dtype,
        'images_per_sec': summary['images_per_sec'],
        'latency_mean_ms': summary['latency_mean_ms'],
        'latency_p90_ms': summary['latency_p90_ms'],
        'latency_p95_ms': summary['latency_p95_ms'],
        'latency_p99_ms': summary['latency_p99_ms'],
        'gflop_per_sec': gflops,
        'peak_gflop_per_sec': peak,
        'fraction_of_peak': gflops / peak if peak else None,
    }


def markdown(rows):
    lines = ['| mode | input | batch | precision (convs ran in) | img/s | latency mean / p90 / '
             'p95 / p99 [ms] | GFLOP/s | of peak |',
             '|---|---|---:|---|---:|---:|---:|---:|']
    for r in rows:
        peak = f"{100 * r['fraction_of_peak']:.0f}%" if r['fraction_of_peak'] else 'n/a'
        lines.append(
            f"| {r['mode']} | {r['data']} | {r['batch_size']} | {r['precision'].upper()} "
            f"({r['conv_dtype']}) "
            f"| {r['images_per_sec']:.3f} | {r['latency_mean_ms']:.0f} / "
            f"{r['latency_p90_ms']:.0f} / {r['latency_p95_ms']:.0f} / "
            f"{r['latency_p99_ms']:.0f} | {r['gflop_per_sec']:.1f} | {peak} |")
    return '\n'.join(lines)


def machine():
    from utils.runtime import precision
    model = platform.processor()
    try:
        with open(precision.CPUINFO) as cpuinfo:
            model = next((line.partition(':')[2].strip() for line in cpuinfo
                          if line.startswith('model name')), model)
    except OSError:
        pass
    flags = precision.cpu_flags()  # what --use_amp decides by
    import importlib.metadata
    return {
        'date': datetime.date.today().isoformat(),
        'cpu': model,
        'cores': len(os.sched_getaffinity(0)),
        'cpu_flags': sorted(f for f in flags if f.startswith(('avx512', 'amx'))),
        'tensorflow': importlib.metadata.version('tensorflow'),
        'python': platform.python_version(),
    }


def main(argv=None):
    args = parse_args(argv)
    # TensorFlow (through model.unet) only once the flags are known to be valid.
    from utils.runtime.quiet_tensorflow import import_tensorflow
    import_tensorflow()
    from model.flops import forward_flops, training_flops
    preload = ctypes.util.find_library('jemalloc') and JEMALLOC if args.jemalloc == 'auto' else None
    size = args.input_size
    measure = ['--max_steps', str(args.warmup_steps + args.steps),
               '--warmup_steps', str(args.warmup_steps), '--log_every', '1000000',
               '--input_size', str(size)]
    flop_per_image = {'train': training_flops(size), 'inference': forward_flops(size)}
    report = {'machine': machine(), 'jemalloc_preloaded': bool(preload), 'input_size': size,
              'flop_per_image': flop_per_image,
              'command': ' '.join([os.path.relpath(__file__, ROOT)] + (argv or sys.argv[1:])),
              'rows': []}
    with tempfile.TemporaryDirectory(prefix='unet_benchmark_') as scratch:
        runner = Runner(scratch, preload, ['--size', str(args.peak_size),
                                           '--repeats', str(args.peak_repeats)])
        data_dir = args.data_dir or _generate_data(scratch)
        report['data_dir'] = args.data_dir or 'generated: 30 train + 8 test slices, 512x512'

        def compute_only(batch, precision):
            """One --exec_mode benchmark run: a training row and an inference row."""
            records, peaks = runner.bracketed(lambda: runner.main(
                ['--exec_mode', 'benchmark', '--batch_size', str(batch), *measure,
                 *PRECISIONS[precision]]))
            rows = [row(mode, batch, precision, records[f'{key}_summary'],
                        records[f'{key}_graph'], flop_per_image[mode], peaks)
                    for mode, key in (('train', 'train'), ('inference', 'predict'))]
            report['rows'] += rows
            return records, rows

        first, precision = args.batch_sizes[0], args.precisions[0]
        reference, reference_rows = compute_only(first, precision)
        # The comparisons below run right after `reference`, so that they share its conditions.
        real, peaks = runner.bracketed(lambda: runner.main(
            ['--exec_mode', 'train', '--benchmark', '--augment', '--batch_size', str(first),
             '--data_dir', data_dir, *measure, *PRECISIONS[precision]]))
        report['rows'].append(row('train', first, precision, real['train_summary'],
                                  real['train_graph'], flop_per_image['train'], peaks,
                                  data='ISBI-format, --augment'))
        report['input_pipeline'] = _input_pipeline(reference, real, precision, first)
        report['whole_slice_inference'] = _whole_slice(runner, reference, data_dir, measure)
        if args.pytorch_python:
            report['pytorch'] = _pytorch(runner, args, reference_rows, flop_per_image)
        if preload:
            plain = runner.main(['--exec_mode', 'benchmark', '--batch_size', str(first),
                                 *measure, *PRECISIONS[precision]], preload=False)
            report['jemalloc_speedup'] = {
                mode: reference[f'{key}_summary']['images_per_sec'] /
                plain[f'{key}_summary']['images_per_sec']
                for mode, key in (('train', 'train'), ('inference', 'predict'))}

        amp_falls_back = False
        for batch in args.batch_sizes:
            for other in args.precisions:
                if (batch, other) == (first, precision):
                    continue
                if other == 'amp' and amp_falls_back:
                    continue
                records, _ = compute_only(batch, other)
                if other == 'amp' and conv_dtype(records['train_graph']) == 'float32':
                    # --use_amp warned and ran float32: more AMP rows would repeat FP32's.
                    amp_falls_back = True
                    report['amp_fallback'] = next(
                        m for m in records['messages'] if m.startswith('warning: --use_amp'))
        report['peaks'] = runner.peaks
    report['rows'].sort(key=lambda r: (r['mode'] != 'train', r['data'] != 'synthetic',
                                       r['batch_size'], list(PRECISIONS).index(r['precision'])))

    _print(report)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, 'w') as out:
        json.dump(report, out, indent=2)
    print(f'\nwrote {args.output}')
    return 0


def _whole_slice(runner, reference, data_dir, measure):
    """Inference of the test slices as the product tiles them, against the --input_size tiles
    that would cover a slice (four 572x572 tiles, with 388x388 outputs, for 512x512)."""
    from utils.data.tiff_io import read_stack
    from utils.data.tiling import plan_tiles
    whole = runner.main(['--exec_mode', 'predict', '--benchmark', '--batch_size', '1',
                         '--data_dir', data_dir, *measure])
    params = reference['params']
    height, width = read_stack(os.path.join(data_dir, 'test-volume.tif')).shape[1:]
    # The tiling's own count of outputs no larger than an --input_size window's.
    tiles = len(plan_tiles(height, width, params['input_size']).offsets)
    tile_ms = reference['predict_summary']['latency_mean_ms'] / params['batch_size']
    slice_ms = whole['predict_summary']['latency_mean_ms']
    return {'how': next(m for m in whole['messages'] if m.startswith('timing inference')),
            'slice_latency_mean_ms': slice_ms, 'tiles': tiles, 'tiles_ms': tiles * tile_ms,
            'speedup': tiles * tile_ms / slice_ms}


def _input_pipeline(reference, real, precision, batch):
    """Training on augmented ISBI-format data as a fraction of training on synthetic tensors."""
    augmented = real['train_summary']['images_per_sec']
    synthetic = reference['train_summary']['images_per_sec']
    return {'precision': precision, 'batch_size': batch,
            'augmented_images_per_sec': augmented, 'synthetic_images_per_sec': synthetic,
            'ratio': augmented / synthetic}


def _pytorch(runner, args, reference, flop_per_image):
    """The same network in PyTorch at batch 1 (float32, channels_last), bracketed by peaks
    like every row, against `reference`: as measured, and as fractions of the peak."""
    script = os.path.join(ROOT, 'scripts', 'pytorch_reference.py')

    def run():
        print(f'$ {args.pytorch_python} scripts/pytorch_reference.py', file=sys.stderr,
              flush=True)
        result = subprocess.run(
            [args.pytorch_python, script, '--config', 'float32:channels_last', '--steps',
             str(args.steps), '--warmup_steps', str(args.warmup_steps), '--input_size',
             str(args.input_size)], cwd=ROOT, env=runner.environ(True), capture_output=True,
            text=True)
        if result.returncode != 0:
            sys.exit(f'benchmark: {script} failed:\n{result.stderr[-2000:]}')
        return json.loads(result.stdout.strip().splitlines()[-1])

    measured, peaks = runner.bracketed(run)
    (torch_rates,) = measured['results']
    tf_rows = {r['mode']: r for r in reference}
    report = {'torch': measured['torch'], 'config': 'float32, channels_last, batch 1',
              'tensorflow_batch_size': tf_rows['train']['batch_size']}
    for mode in ('train', 'inference'):
        rate = torch_rates[f'{mode}_images_per_sec']
        fraction = rate * flop_per_image[mode] / 1e9 / peaks['float32']
        report[mode] = {
            'images_per_sec': rate, 'fraction_of_peak': fraction,
            'tensorflow_over_pytorch': tf_rows[mode]['images_per_sec'] / rate,
            'tensorflow_over_pytorch_at_equal_peak':
                tf_rows[mode]['fraction_of_peak'] / fraction}
    return report


def _generate_data(scratch):
    from utils.data import synthetic
    data_dir = os.path.join(scratch, 'data')
    synthetic.generate_dataset(data_dir, seed=0, train_pages=30, test_pages=8, size=512)
    return data_dir


def _print(report):
    m = report['machine']
    size = report['input_size']
    print(f"{m['date']}, {m['cpu']}, {m['cores']} cores ({', '.join(m['cpu_flags'])}), "
          f"TensorFlow {m['tensorflow']}, jemalloc "
          f"{'preloaded' if report['jemalloc_preloaded'] else 'not preloaded'}")
    ranges = []
    for dtype in DTYPES:
        sustained = [p[dtype]['sustained'] for p in report['peaks']]
        best = max(p[dtype]['best'] for p in report['peaks'])
        ranges.append(f"{dtype} {min(sustained):.0f}-{max(sustained):.0f} GFLOP/s (best single "
                      f"product {best:.0f})")
    print(f"matmul peak, sustained, measured between the runs: {'; '.join(ranges)}; each row's "
          f"fraction is of the mean of the peaks just before and after it")
    print(f"U-Net at {size}x{size}: {report['flop_per_image']['inference'] / 1e9:.1f} GFLOP "
          f"inference, {report['flop_per_image']['train'] / 1e9:.1f} GFLOP training per image\n")
    print(markdown(report['rows']))
    print()
    if 'amp_fallback' in report:
        print(f"AMP: {report['amp_fallback']}; AMP rows after the first were skipped")
    pipeline = report['input_pipeline']
    print(f"input pipeline ({pipeline['precision'].upper()}, batch {pipeline['batch_size']}): "
          f"augmented ISBI-format data {pipeline['augmented_images_per_sec']:.3f} img/s = "
          f"{100 * pipeline['ratio']:.1f}% of synthetic input "
          f"({pipeline['synthetic_images_per_sec']:.3f} img/s)")
    whole = report['whole_slice_inference']
    print(f"whole-slice inference ({whole['how']}): {whole['slice_latency_mean_ms']:.0f} "
          f"ms per slice vs {whole['tiles_ms']:.0f} ms for the {whole['tiles']} "
          f"{size}x{size} tiles that cover one: {whole['speedup']:.2f}x faster")
    if 'pytorch' in report:
        torch_run = report['pytorch']
        print(f"PyTorch {torch_run['torch']} ({torch_run['config']}), after the first row pair; "
              f"TensorFlow's figures are that pair's (batch {torch_run['tensorflow_batch_size']}):")
        for mode in ('train', 'inference'):
            measured = torch_run[mode]
            print(f"  {mode}: {measured['images_per_sec']:.3f} img/s, "
                  f"{100 * measured['fraction_of_peak']:.0f}% of peak; TensorFlow / PyTorch "
                  f"{measured['tensorflow_over_pytorch']:.2f}x as measured, "
                  f"{measured['tensorflow_over_pytorch_at_equal_peak']:.2f}x at equal peak")
    if 'jemalloc_speedup' in report:
        print(f"jemalloc vs the default allocator (first row pair): training "
              f"{report['jemalloc_speedup']['train']:.3f}x, inference "
              f"{report['jemalloc_speedup']['inference']:.3f}x")


if __name__ == '__main__':
    sys.exit(main())
