"""The one immutable parameter set: built once by main.py, validated here, read everywhere."""
import dataclasses
import os

from model.sizes import INPUT_TILE, check_input_size

EXEC_MODES = ('train', 'train_and_predict', 'predict', 'benchmark', 'evaluate',
              'train_and_evaluate', 'export')
OPTIMIZERS = ('momentum', 'adam')
DEFAULT_LEARNING_RATES = {'momentum': 0.01, 'adam': 0.0001}
"""--learning_rate when not given: NVIDIA's recipe's 0.01 for SGD with momentum 0.99, and NVIDIA's
later recipe's 1e-4 for Adam, whose steps do not scale with the gradient's size."""
DEFAULT_MOMENTUM = 0.99
LR_SCALINGS = ('none', 'linear')
LR_SCHEDULES = ('inverse_time', 'cosine')
LOSSES = ('ce_dice', 'weighted_ce', 'weighted_ce_dice', 'ce_dice_skeleton')
AUGMENTATIONS = ('full', 'flips')


@dataclasses.dataclass(frozen=True)
class Params:
    """Every setting of a run. Field names match main.py's flag destinations one to one."""
    data_dir: str = None
    exec_mode: str = 'train_and_predict'
    model_dir: str = './results'
    batch_size: int = 1
    max_steps: int = 1000
    seed: int = 0
    weight_decay: float = 0.0005
    log_every: int = 100
    warmup_steps: int = 200
    learning_rate: float = None
    momentum: float = DEFAULT_MOMENTUM
    decay_steps: float = 5000
    decay_rate: float = 0.95
    lr_schedule: str = 'inverse_time'
    lr_warmup_steps: int = 0
    ema_decay: float = 0.0
    augment: bool = False
    augment_steps: int = 0
    augmentation: str = 'full'
    contrast_augment: float = 0.0
    optimizer: str = 'momentum'
    lr_scaling: str = 'none'
    input_size: int = INPUT_TILE
    use_amp: bool = False
    use_xla: bool = False
    benchmark: bool = False
    save_checkpoints_steps: int = 500
    keep_checkpoint_max: int = 5
    fold: int = None
    num_folds: int = 5
    tta: bool = False
    cells: bool = False
    # The watershed's (utils.outputs.cells), chosen on folds 0 and 1 (docs/accuracy.md).
    cell_smoothing: float = 1.0
    cell_marker_depth: float = 0.4
    loss: str = 'ce_dice'
    border_weight: float = 10.0
    """The paper's w0 (utils.data.weight_map.W0)."""
    eval_every: int = 0
    profile_step: int = 0
    input: tuple = ()
    output_dir: str = None
    overwrite: bool = False
    overlays: bool = False
    saved_model: str = None

    def __post_init__(self):
        # Frozen: the values resolved here are set once, so the params log shows them.
        if self.learning_rate is None and self.optimizer in DEFAULT_LEARNING_RATES:
            object.__setattr__(self, 'learning_rate', DEFAULT_LEARNING_RATES[self.optimizer])
        object.__setattr__(self, 'input', tuple(self.input or ()))
        self._check_choices()
        self._check_numbers()
        self._check_training()
        self._check_modes()
        self._check_own_images()
        self._check_cells()
        try:
            check_input_size(self.input_size, self.input_size)
        except ValueError as err:
            raise ValueError(f'--input_size: {err}') from None

    def _check_choices(self):
        for flag, choices in (('exec_mode', EXEC_MODES), ('optimizer', OPTIMIZERS),
                              ('lr_schedule', LR_SCHEDULES), ('lr_scaling', LR_SCALINGS),
                              ('augmentation', AUGMENTATIONS), ('loss', LOSSES)):
            value = getattr(self, flag)
            _check(value in choices, flag, value, f'one of {", ".join(choices)}')

    def _check_numbers(self):
        """Each number in its range, alone."""
        _check(bool(self.data_dir) or not self.reads_data, 'data_dir', self.data_dir,
               f'a directory (--exec_mode={self.exec_mode} reads data)')
        _check(bool(self.model_dir), 'model_dir', self.model_dir, 'a directory')
        for name in ('batch_size', 'max_steps', 'log_every', 'save_checkpoints_steps',
                     'keep_checkpoint_max'):
            value = getattr(self, name)
            _check(value >= 1, name, value, 'an integer >= 1')
        for name in ('warmup_steps', 'seed', 'augment_steps', 'eval_every'):
            value = getattr(self, name)
            _check(value >= 0, name, value, 'an integer >= 0')
        _check(0 <= self.momentum < 1, 'momentum', self.momentum, 'a number in [0, 1)')
        _check(self.weight_decay >= 0, 'weight_decay', self.weight_decay, 'a number >= 0')
        _check(self.decay_steps > 0, 'decay_steps', self.decay_steps, 'a number > 0')
        _check(self.decay_rate >= 0, 'decay_rate', self.decay_rate, 'a number >= 0')
        _check(self.learning_rate is not None and self.learning_rate > 0, 'learning_rate',
               self.learning_rate, 'a number > 0')
        _check(0 <= self.lr_warmup_steps < self.max_steps, 'lr_warmup_steps',
               self.lr_warmup_steps, f'an integer in [0, --max_steps={self.max_steps})')
        _check(0 <= self.ema_decay < 1, 'ema_decay', self.ema_decay,
               'a number in [0, 1) (0: no moving average)')
        _check(self.border_weight >= 0, 'border_weight', self.border_weight,
               'a number >= 0 (0: the class balance alone)')
        _check(0 <= self.contrast_augment < 1, 'contrast_augment', self.contrast_augment,
               'a number in [0, 1) (0: no gamma or contrast change)')
        _check(self.profile_step >= 0, 'profile_step', self.profile_step,
               'an integer >= 0 (0: no trace)')
        _check(self.cell_smoothing >= 0, 'cell_smoothing', self.cell_smoothing,
               'a number of pixels >= 0 (0: no smoothing)')
        _check(0 < self.cell_marker_depth < 1, 'cell_marker_depth', self.cell_marker_depth,
               'a probability in (0, 1)')
        _check(self.num_folds >= 2, 'num_folds', self.num_folds, 'an integer >= 2')
        _check(self.fold is None or 0 <= self.fold < self.num_folds, 'fold', self.fold,
               f'an integer in [0, {self.num_folds}) (--num_folds={self.num_folds})')

    def _check_training(self):
        """The training flags that only make sense together."""
        _check(self.optimizer == 'momentum' or self.momentum == DEFAULT_MOMENTUM, 'momentum',
               self.momentum, f'no --momentum with --optimizer={self.optimizer} (it has its own '
               'moment estimates)')
        _check(not self.ema_decay or self.trains, 'ema_decay', self.ema_decay,
               f'0 with --exec_mode {self.exec_mode}: it averages the weights while training; '
               'predicting and evaluating use the averages a checkpoint holds by themselves')
        _check(not self.timing_only or self.max_steps > self.warmup_steps, 'max_steps',
               self.max_steps, f'more than --warmup_steps={self.warmup_steps} when '
               'benchmarking (warm-up steps are not measured)')
        _check(self.augment or not self.augment_steps, 'augment_steps', self.augment_steps,
               '0 without --augment (it limits augmentation to the first steps)')
        _check(self.weighted_loss or self.border_weight == Params.border_weight,
               'border_weight', self.border_weight, 'its default without --loss weighted_ce '
               'or weighted_ce_dice (it weighs their border term)')
        _check(self.augment or not self.contrast_augment, 'contrast_augment',
               self.contrast_augment, '0 without --augment (it widens what --augment draws)')
        _check(self.augment or self.augmentation == 'full', 'augmentation', self.augmentation,
               'full (the default) without --augment (it chooses what --augment does)')

    def _check_modes(self):
        """Flags that belong to some --exec_mode values only."""
        _check(not (self.benchmark and self.evaluates), 'benchmark', self.benchmark,
               'no --benchmark with an evaluate mode (it times training and prediction only)')
        _check(not self.tta or (self.predicts or self.evaluates) and not self.timing_only,
               'tta', self.tta, 'a mode that predicts or evaluates, not a benchmark')
        _check(not self.eval_every or self.exec_mode == 'train_and_evaluate', 'eval_every',
               self.eval_every, '0 unless --exec_mode train_and_evaluate (it scores the '
               'held-out slices during training)')
        _check(self.fold is None or (self.trains or self.evaluates) and self.reads_data, 'fold',
               self.fold, f'no --fold with --exec_mode {self.exec_mode} (it neither trains '
               'nor evaluates on the data)')

    def _check_own_images(self):
        """--input and the flags that go with it."""
        _check(not self.input or self.exec_mode == 'predict', 'input', list(self.input),
               '--exec_mode predict (it segments your images with a trained --model_dir)')
        _check(not self.input or not self.benchmark, 'benchmark', self.benchmark,
               'no --benchmark with --input (it times the test volume)')
        _check(bool(self.output_dir) == bool(self.input), 'output_dir', self.output_dir,
               'a folder for the outputs of --input, and only with --input')
        for flag in ('overwrite', 'overlays', 'saved_model'):
            _check(self.input or not getattr(self, flag), flag, getattr(self, flag),
                   "only with --input (NVIDIA's recipe's predict writes <model_dir>/pred)")

    def _check_cells(self):
        """Cells where something is predicted or scored; the watershed's settings, only where
        cells are drawn."""
        _check(not self.cells or (self.predicts or self.evaluates) and not self.timing_only,
               'cells', self.cells, 'a mode that predicts or evaluates, not a benchmark')
        for flag in ('cell_smoothing', 'cell_marker_depth'):
            value = getattr(self, flag)
            _check(self.cells or value == DEFAULTS[flag], flag, value,
                   'its default without --cells (it sets how the cells are drawn)')

    @property
    def trains(self):
        return self.exec_mode in ('train', 'train_and_predict', 'train_and_evaluate',
                                  'benchmark')

    @property
    def weighted_loss(self):
        """The loss uses the paper's weight map (utils.data.weight_map)."""
        return self.loss.startswith('weighted')

    @property
    def skeleton_loss(self):
        """The loss adds the recall of the true membranes' centre lines."""
        return self.loss == 'ce_dice_skeleton'

    @property
    def pixel_weighted(self):
        """The labels carry a per-pixel map for the loss: the weight map or the skeletons."""
        return self.weighted_loss or self.skeleton_loss

    @property
    def evaluates(self):
        """Scores held-out slices: those of --fold, or the test volume when it has labels."""
        return self.exec_mode in ('evaluate', 'train_and_evaluate')

    @property
    def predicts(self):
        return self.exec_mode in ('predict', 'train_and_predict', 'benchmark')

    @property
    def timing_only(self):
        """--benchmark or --exec_mode benchmark: the run is timed, not kept; nothing is read
        from or written to a checkpoint, no predictions saved."""
        return self.benchmark or self.exec_mode == 'benchmark'

    @property
    def reads_data(self):
        """Reads --data_dir. --exec_mode benchmark times the model on synthetic tensors made in
        memory; export reads only the checkpoint; predict with --input reads those files."""
        return self.exec_mode not in ('benchmark', 'export') and not self.input

    @property
    def export_dir(self):
        """Where --exec_mode export writes SavedModels, one timestamped directory each."""
        return os.path.join(self.model_dir, 'export')

    @property
    def eval_dir(self):
        """Where evaluate writes metrics.json and the held-out slices' probabilities."""
        return os.path.join(self.model_dir, 'eval')

    @property
    def best_dir(self):
        """Where --eval_every keeps the checkpoint with the best V_rand so far."""
        return os.path.join(self.model_dir, 'best')

    @property
    def profile_dir(self):
        """Where --profile_step writes its Chrome traces."""
        return os.path.join(self.model_dir, 'profile')

    @property
    def pred_dir(self):
        """Where predict writes its TIFs and PNG overlays."""
        return os.path.join(self.model_dir, 'pred')


DEFAULTS = {field.name: field.default for field in dataclasses.fields(Params)
            if field.default is not dataclasses.MISSING}
"""The documented default of every optional setting, for main.py's flags."""


def _check(ok, flag, value, allowed):
    if not ok:
        raise ValueError(f'--{flag}={value!r} is invalid: expected {allowed}')
