"""Entry point: flags -> Params -> checked inputs -> runtime settings, device and logger ->
utils.run.runner.run.

    python main.py --exec_mode train_and_predict --data_dir ./data --model_dir ./results

TensorFlow is imported only once the flags and the data files are known to be valid, so
--help, flag errors and bad data files are reported at once.
"""
import dataclasses
import os
import sys

from utils.runtime import quiet_tensorflow
from utils.runtime.errors import Interrupted, UserError, out_of_memory_message
from utils.runtime.flags import build_parser
from utils.runtime.params import Params

LOG_FILE = 'log.jsonl'


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
    """What --use_amp does on this device (utils.runtime.precision.Amp), with its environment set:
    before any graph is built, which is when TensorFlow reads it."""
    from utils.runtime import precision
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
    """Runs main.py with `argv` (sys.argv[1:] by default); returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        params = Params(**vars(args))
        configure_runtime(params)
        from utils.run.inputs import load_inputs
        inputs = load_inputs(params)  # Before TensorFlow starts: a bad file fails in a second.
    except (ValueError, UserError) as err:
        return _failed(err)
    tf = quiet_tensorflow.import_tensorflow()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    from utils.runtime import distributed as dist_lib
    try:
        distributed, notice = dist_lib.init(os.environ)
    except RuntimeError as err:
        return _failed(err)
    from utils.runtime.device import Device
    gpu_visible = bool(tf.config.list_physical_devices('GPU'))
    device = Device(gpu_visible, decide_amp(params, gpu_visible))
    try:
        return run(params, inputs, distributed, device, notice)
    except tf.errors.ResourceExhaustedError as err:
        return _failed(out_of_memory_message(err.message, params, gpu_visible))


def run(params, inputs, distributed, device, notice=None):
    """Checks --model_dir, starts the log there, and runs the mode; returns the exit code."""
    from utils.run import model_dir, runner
    from utils.runtime import disk
    logger = None
    try:
        # Checked before the logger creates anything in model_dir.
        space_warning = model_dir.check_model_dir(params, distributed, device.amp)
        logger = build_logger(params, distributed)
        for message in (notice, device.amp.message, space_warning):
            if message:
                logger.message(message)
        logger.log('params', dataclasses.asdict(params))
        runner.run(params, inputs, logger, distributed, device)
    except (UserError, OSError) as err:
        return _failed(disk.describe(err))
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        return stop.exit_code
    finally:
        if logger is not None:
            logger.close()
    return 0


def _failed(error):
    """Prints the one line of an error the user can act on; returns the exit code 2."""
    print(f'error: {error}', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
