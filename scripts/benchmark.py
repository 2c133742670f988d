"""How fast the U-Net trains and infers here, next to this machine's own peak.

    python scripts/benchmark.py [--data_dir DIR] [--output results/benchmark.json]

One run measures, each in its own `main.py` process, as a user would run it:
- the matmul peak in float32 and bfloat16 (scripts/matmul_peak.py);
- for batch sizes {1, 2, 4} x {FP32, AMP}: training and inference of 572x572 tiles on
  synthetic tensors (`--exec_mode benchmark`, pure compute): img/s, latency mean / p90 / p95 /
  p99 per batch, and the FLOP rate as a fraction of the peak of the type the convolutions
  really ran in (from the run's 'executed_graph' record);
- training at batch 1 on ISBI-format data with augmentation (`--exec_mode train --benchmark
  --augment`), as a fraction of the synthetic-input rate: the input pipeline's cost;
- inference of whole slices as the product tiles them (`--exec_mode predict --benchmark`),
  against four 572x572 tiles;
- with jemalloc installed, batch-1 FP32 again without it: what the allocator is worth.

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

from model.flops import forward_flops, training_flops  # noqa: E402
from model.sizes import INPUT_TILE  # noqa: E402

PRECISIONS = {'fp32': [], 'amp': ['--use_amp']}
JEMALLOC = 'libjemalloc.so.2'


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data_dir', help='ISBI-format data for the pipeline and whole-slice '
                                           'runs (default: 30+8 generated 512x512 slices)')
    parser.add_argument('--output', default=os.path.join('results', 'benchmark.json'))
    parser.add_argument('--batch_sizes', default='1,2,4')
    parser.add_argument('--precisions', default='fp32,amp')
    parser.add_argument('--steps', type=int, default=8, help='measured steps per run')
    parser.add_argument('--warmup_steps', type=int, default=2)
    parser.add_argument('--jemalloc', choices=('auto', 'off'), default='auto',
                        help=f'auto: preload {JEMALLOC} when the system has it')
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
    if args.data_dir and not os.path.isdir(args.data_dir):
        parser.error(f'--data_dir={args.data_dir}: not a directory')
    return args


class Runner:
    """Runs main.py and scripts/ in fresh processes, each in a scratch model_dir."""

    def __init__(self, scratch, preload):
        self.scratch = scratch
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
        self.env.pop('LD_PRELOAD', None)
        self.preload = preload
        self.count = 0

    def _environ(self, preload):
        env = dict(self.env)
        if preload and self.preload:
            env['LD_PRELOAD'] = self.preload
        return env

    def peak(self):
        result = self._run([os.path.join(ROOT, 'scripts', 'matmul_peak.py')], True)
        return json.loads(result.stdout.strip().splitlines()[-1])

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
        result = subprocess.run([sys.executable, *argv], cwd=ROOT, env=self._environ(preload),
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f'benchmark: {" ".join(argv)} failed:\n{result.stderr[-2000:]}')
        return result


def conv_dtype(graph_record):
    """The type the convolutions ran in, e.g. 'float32', or 'mixed' if several."""
    dtypes = list(graph_record['convolution'])
    return dtypes[0] if len(dtypes) == 1 else 'mixed'


def row(mode, batch, precision, summary, graph, flops_per_image, peaks):
    dtype = conv_dtype(graph)
    gflops = summary['images_per_sec'] * flops_per_image / 1e9
    peak = peaks.get(dtype)
    return {
        'mode': mode, 'batch_size': batch, 'precision': precision, 'conv_dtype': dtype,
        'images_per_sec': summary['images_per_sec'],
        'latency_mean_ms': summary['latency_mean_ms'],
        'latency_p90_ms': summary['latency_p90_ms'],
        'latency_p95_ms': summary['latency_p95_ms'],
        'latency_p99_ms': summary['latency_p99_ms'],
        'gflop_per_sec': gflops,
        'fraction_of_peak': gflops / peak if peak else None,
    }


def markdown(rows):
    lines = ['| mode | batch | precision (convs ran in) | img/s | latency mean / p90 / p95 / '
             'p99 [ms] | GFLOP/s | of peak |',
             '|---|---:|---|---:|---:|---:|---:|']
    for r in rows:
        peak = f"{100 * r['fraction_of_peak']:.0f}%" if r['fraction_of_peak'] else 'n/a'
        lines.append(
            f"| {r['mode']} | {r['batch_size']} | {r['precision'].upper()} ({r['conv_dtype']}) "
            f"| {r['images_per_sec']:.3f} | {r['latency_mean_ms']:.0f} / "
            f"{r['latency_p90_ms']:.0f} / {r['latency_p95_ms']:.0f} / "
            f"{r['latency_p99_ms']:.0f} | {r['gflop_per_sec']:.1f} | {peak} |")
    return '\n'.join(lines)


def machine():
    flags = set()
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.partition(':')[2].strip()
                elif line.startswith('flags'):
                    flags = set(line.partition(':')[2].split())
    except OSError:
        pass
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
    preload = ctypes.util.find_library('jemalloc') and JEMALLOC if args.jemalloc == 'auto' else None
    measure = ['--max_steps', str(args.warmup_steps + args.steps),
               '--warmup_steps', str(args.warmup_steps), '--log_every', '1000000']
    report = {'machine': machine(), 'jemalloc_preloaded': bool(preload),
              'flop_per_image': {'train': training_flops(INPUT_TILE),
                                 'inference': forward_flops(INPUT_TILE)},
              'command': ' '.join([os.path.relpath(__file__, ROOT)] + (argv or sys.argv[1:]))}
    with tempfile.TemporaryDirectory(prefix='unet_benchmark_') as scratch:
        runner = Runner(scratch, preload)
        data_dir = args.data_dir or _generate_data(scratch)
        report['data_dir'] = args.data_dir or 'generated: 30 train + 8 test slices, 512x512'
        peaks = runner.peak()
        report['peak_gflop_per_sec'] = peaks

        rows = []
        synthetic_b1 = {}
        for batch in args.batch_sizes:
            for precision in args.precisions:
                records = runner.main(['--exec_mode', 'benchmark', '--batch_size', str(batch),
                                       *measure, *PRECISIONS[precision]])
                rows.append(row('train', batch, precision, records['train_summary'],
                                records['train_graph'], training_flops(INPUT_TILE), peaks))
                rows.append(row('inference', batch, precision, records['predict_summary'],
                                records['predict_graph'], forward_flops(INPUT_TILE), peaks))
                if batch == 1:
                    synthetic_b1[precision] = records
        rows.sort(key=lambda r: (r['mode'] != 'train', r['batch_size'], r['precision']))
        report['rows'] = rows

        if 1 in args.batch_sizes:
            report['input_pipeline'] = {}
            for precision in args.precisions:
                real = runner.main(['--exec_mode', 'train', '--benchmark', '--augment',
                                    '--data_dir', data_dir, *measure, *PRECISIONS[precision]])
                synthetic = synthetic_b1[precision]['train_summary']['images_per_sec']
                report['input_pipeline'][precision] = {
                    'augmented_images_per_sec': real['train_summary']['images_per_sec'],
                    'synthetic_images_per_sec': synthetic,
                    'ratio': real['train_summary']['images_per_sec'] / synthetic}

            whole = runner.main(['--exec_mode', 'predict', '--benchmark', '--data_dir', data_dir,
                                 *measure])
            tile_ms = synthetic_b1.get('fp32', next(iter(synthetic_b1.values())))[
                'predict_summary']['latency_mean_ms']
            slice_ms = whole['predict_summary']['latency_mean_ms']
            report['whole_slice_inference'] = {
                'how': next(m for m in whole['messages'] if m.startswith('timing inference')),
                'slice_latency_mean_ms': slice_ms,
                'four_572_tiles_ms': 4 * tile_ms,
                'speedup': 4 * tile_ms / slice_ms}

            if preload:
                plain = runner.main(['--exec_mode', 'benchmark', '--batch_size', '1', *measure],
                                    preload=False)
                jemalloc = synthetic_b1.get('fp32')
                if jemalloc:
                    report['jemalloc'] = {
                        mode: jemalloc[key]['images_per_sec'] / plain[key]['images_per_sec']
                        for mode, key in (('train', 'train_summary'),
                                          ('inference', 'predict_summary'))}

    _print(report)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, 'w') as out:
        json.dump(report, out, indent=2)
    print(f'\nwrote {args.output}')
    return 0


def _generate_data(scratch):
    from utils import synthetic
    data_dir = os.path.join(scratch, 'data')
    synthetic.generate_dataset(data_dir, seed=0, train_pages=30, test_pages=8, size=512)
    return data_dir


def _print(report):
    m = report['machine']
    peaks = report['peak_gflop_per_sec']
    print(f"{m['date']}, {m['cpu']}, {m['cores']} cores ({', '.join(m['cpu_flags'])}), "
          f"TensorFlow {m['tensorflow']}, jemalloc "
          f"{'preloaded' if report['jemalloc_preloaded'] else 'not preloaded'}")
    print(f"matmul peak: float32 {peaks['float32']:.1f} GFLOP/s, bfloat16 "
          f"{peaks['bfloat16']:.1f} GFLOP/s; U-Net at {INPUT_TILE}x{INPUT_TILE}: "
          f"{report['flop_per_image']['inference'] / 1e9:.1f} GFLOP inference, "
          f"{report['flop_per_image']['train'] / 1e9:.1f} GFLOP training per image\n")
    print(markdown(report['rows']))
    for precision, pipeline in report.get('input_pipeline', {}).items():
        print(f"\ninput pipeline ({precision.upper()}, batch 1): augmented ISBI-format data "
              f"{pipeline['augmented_images_per_sec']:.3f} img/s = "
              f"{100 * pipeline['ratio']:.1f}% of synthetic input")
    if 'whole_slice_inference' in report:
        whole = report['whole_slice_inference']
        print(f"whole-slice inference ({whole['how']}): {whole['slice_latency_mean_ms']:.0f} "
              f"ms per slice vs {whole['four_572_tiles_ms']:.0f} ms for four "
              f"{INPUT_TILE}x{INPUT_TILE} tiles: {whole['speedup']:.2f}x faster")
    if 'jemalloc' in report:
        print(f"jemalloc vs the default allocator (FP32, batch 1): training "
              f"{report['jemalloc']['train']:.3f}x, inference "
              f"{report['jemalloc']['inference']:.3f}x")


if __name__ == '__main__':
    sys.exit(main())
