"""Timing prediction (--benchmark with a predicting mode, --exec_mode benchmark): batches of
tiles through the Estimator, measured by the progress hook; nothing is written."""
import numpy as np

from utils.data import input_fns
from utils.hooks import inspection_hooks
from utils.hooks.progress_hook import ProgressHook
from utils.run.tiled_prediction import BatchedTiles


def time_prediction(estimator, params, logger, data):
    """Times --max_steps batches of inference, on the test volume's tiles cycled, or on random
    tiles of --input_size when `data` is None (--exec_mode benchmark). Writes nothing."""
    if data is None:
        rng = np.random.default_rng(params.seed)
        tiles = rng.integers(0, 256, (params.batch_size, params.input_size, params.input_size),
                             dtype=np.uint8)
    else:
        volume = data[0]
        batched = BatchedTiles([volume], params.batch_size, read=iter)
        tiles = np.concatenate(list(batched.batches()))
        plan = batched.views[0].plan
        logger.message(f'timing inference of {volume.shape[1]}x{volume.shape[2]} slices as '
                       f'{len(plan.offsets)} tile(s) of {plan.input_shape[0]}x'
                       f'{plan.input_shape[1]} each')
    # What was timed, for scripts that compare this rate with their own (in the summary's
    # images_per_sec, an image is one tile of this shape).
    logger.log('predict_tiles', {'tile_height': tiles.shape[1], 'tile_width': tiles.shape[2]})
    hooks = [ProgressHook(logger, {}, None, params.batch_size, params.log_every,
                          params.warmup_steps, params.max_steps, 'predict_summary'),
             *inspection_hooks(logger, params, 'predict')]
    input_fn = input_fns.predict_input_fn(tiles, params.batch_size, batches=params.max_steps)
    for _ in estimator.predict(input_fn, hooks=hooks, yield_single_examples=False):
        pass
