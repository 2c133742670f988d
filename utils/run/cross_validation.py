"""Cross-validation as one command: every fold of --num_folds trained and scored in turn,
resumable, then one summary. Free of TensorFlow (each fold runs in a process of its own).

    python -m utils.run.cross_validation --results DIR -- python main.py <main.py flags>

The command after `--` trains and evaluates one fold (`--exec_mode train_and_evaluate`); a
launcher such as `horovodrun -np 8 -H localhost:8` may stand before `python`. Fold K runs it
with `--fold K --model_dir DIR/fold_K`. A fold whose final evaluation exists is skipped; an
interrupted one resumes from its checkpoint, as main.py does. Then DIR/cv_summary.json and
DIR/cv_summary.md give each fold's held-out scores at the last step, its best step by V_rand
and its wall time, with the mean and standard deviation over the folds.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys

from utils.outputs.scores import CLOSED_SCORE_NAMES, SCORE_NAMES
from utils.runtime.disk import write_atomically
from utils.runtime.errors import UserError
from utils.runtime.flags import build_parser
from utils.runtime.params import Params

SUMMARY_JSON = 'cv_summary.json'
SUMMARY_MARKDOWN = 'cv_summary.md'
METRICS = os.path.join('eval', 'metrics.json')
BEST_METRICS = os.path.join('best', 'metrics.json')


def main_flags(command):
    """The Params of the fold command's main.py flags, parsed as main.py parses them."""
    scripts = [i for i, word in enumerate(command) if word.endswith('main.py')]
    if not scripts:
        raise UserError(f'{" ".join(command)}: the fold command names no main.py')
    args = build_parser().parse_args(command[scripts[0] + 1:] + ['--fold', '0'])
    try:
        params = Params(**vars(args))
    except ValueError as err:
        raise UserError(str(err)) from None
    if params.exec_mode != 'train_and_evaluate':
        raise UserError(f'--exec_mode={params.exec_mode}: cross-validation trains and '
                        'evaluates every fold (train_and_evaluate)')
    return params


def fold_dir(results, fold):
    return os.path.join(results, f'fold_{fold}')


def finished(directory, max_steps):
    """The fold's final metrics when its evaluation at --max_steps exists, else None."""
    try:
        with open(os.path.join(directory, METRICS)) as f:
            metrics = json.load(f)
    except (OSError, ValueError):
        return None
    return metrics if metrics.get('step', 0) >= max_steps else None


def run_fold(command, directory, fold):
    """Runs the fold command; returns its exit code.

    The fold runs in a process group of its own, and a SIGINT or SIGTERM sent to this process
    (or to its group, as Ctrl-C and schedulers do) reaches it once, from here: so it saves
    its checkpoint and stops, as main.py alone would. Twice, it would exit at once.
    """
    process = subprocess.Popen(command + ['--fold', str(fold), '--model_dir', directory],
                               start_new_session=True)
    previous = {signum: signal.signal(signum, lambda signum, _: os.killpg(process.pid, signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wall_seconds(directory):
    """The fold's training and evaluation time: over every run that wrote to its log, from
    the run's first record to its last."""
    try:
        with open(os.path.join(directory, 'log.jsonl')) as f:
            records = [json.loads(line) for line in f if line.strip().startswith('{')]
    except (OSError, ValueError):
        return None
    runs = []
    for record in records:
        if record.get('step') == 'params' or not runs:
            runs.append([record['timestamp'], record['timestamp']])
        runs[-1][1] = record['timestamp']
    return sum(end - start for start, end in runs)


def fold_row(directory, fold, metrics):
    row = {'fold': fold, 'step': metrics['step'], 'slices': metrics.get('slices')}
    row.update({name: metrics[name] for name in SCORE_NAMES + CLOSED_SCORE_NAMES
                if name in metrics})
    try:
        with open(os.path.join(directory, BEST_METRICS)) as f:
            row['best_step'] = json.load(f)['step']
    except (OSError, ValueError, KeyError):
        row['best_step'] = metrics['step']
    row['wall_seconds'] = wall_seconds(directory)
    return row


COLUMN_TITLES = {'v_rand_thin': 'V_rand thin', 'v_info_thin': 'V_info thin',
                 'dice_membrane': 'Dice membrane', 'dice_background': 'Dice background',
                 'pixel_error': 'pixel error', 'closed_v_rand_thin': 'V_rand thin, cells',
                 'closed_v_info_thin': 'V_info thin, cells'}


def score_names(rows):
    """The scores every fold has: SCORE_NAMES, and the cells' where every fold drew them."""
    return SCORE_NAMES + tuple(name for name in CLOSED_SCORE_NAMES
                               if all(name in row for row in rows))


def summarize(rows):
    """Mean and (sample) standard deviation of each score over the folds."""
    summary = {}
    for name in score_names(rows):
        values = [row[name] for row in rows]
        summary[name] = {'mean': statistics.fmean(values),
                         'std': statistics.stdev(values) if len(values) > 1 else 0.0}
    return summary


def markdown(rows, summary):
    names = score_names(rows)
    head = ('| fold | ' + ' | '.join(COLUMN_TITLES[name] for name in names) +
            ' | best step | wall |\n' + '| --- ' * (len(names) + 3) + '|')
    lines = [head]
    for row in rows:
        wall = f'{row["wall_seconds"] / 60:.1f} min' if row['wall_seconds'] else '?'
        lines.append(f'| {row["fold"]} | ' + ' | '.join(f'{row[n]:.4f}' for n in names) +
                     f' | {row["best_step"]} | {wall} |')
    lines.append('| mean +/- std | ' + ' | '.join(
        f'{summary[n]["mean"]:.4f} +/- {summary[n]["std"]:.4f}' for n in names) + ' | | |')
    return '\n'.join(lines) + '\n'


def cross_validate(results, command):
    """Runs every fold that is not finished, then writes the summary.

    Returns:
        0, or the exit code of the first fold that failed (nothing summarized then).
    """
    params = main_flags(command)
    rows = []
    for fold in range(params.num_folds):
        directory = fold_dir(results, fold)
        metrics = finished(directory, params.max_steps)
        if metrics is None:
            print(f'cross-validation: fold {fold} of {params.num_folds} in {directory}',
                  flush=True)
            code = run_fold(command, directory, fold)
            if code != 0:
                return code
            metrics = finished(directory, params.max_steps)
            if metrics is None:
                raise UserError(f'{os.path.join(directory, METRICS)}: no evaluation at step '
                                f'{params.max_steps} after the fold\'s run')
        else:
            print(f'cross-validation: fold {fold} finished earlier, in {directory}', flush=True)
        rows.append(fold_row(directory, fold, metrics))
    summary = summarize(rows)
    record = {'num_folds': params.num_folds, 'max_steps': params.max_steps, 'folds': rows,
              'summary': summary, 'command': command}
    text = json.dumps(record, indent=2) + '\n'
    write_atomically(os.path.join(results, SUMMARY_JSON), lambda f: f.write(text.encode()))
    table = markdown(rows, summary)
    write_atomically(os.path.join(results, SUMMARY_MARKDOWN), lambda f: f.write(table.encode()))
    print(table, end='')
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index('--') if '--' in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False,
                                     usage='%(prog)s --results DIR -- python main.py [flags]')
    parser.add_argument('--results', required=True,
                        help='Directory for fold_K/ and the summary')
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        parser.error('expected the fold command after --, e.g. -- python main.py --data_dir D')
    try:
        return cross_validate(args.results, command)
    except UserError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
