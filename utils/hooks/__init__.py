"""SessionRunHooks, one concern per module: progress, inspection of the executed graph, the
profiler, stopping on a signal, the ranks' consistency. May import utils.runtime only."""
from utils.hooks.executed_graph_hook import ExecutedGraphHook
from utils.hooks.profile_hook import ProfileHook


def inspection_hooks(logger, params, mode):
    """What a run's steps really executed: the dtypes of the first step's kernels, and with
    --profile_step the trace of one step. `mode`: 'train' or 'predict'."""
    hooks = [ExecutedGraphHook(logger, mode)]
    if params.profile_step:
        hooks.append(ProfileHook(logger, params.profile_step, params.profile_dir, mode))
    return hooks
