"""What this process runs on, decided once by main.py and passed down: whether TensorFlow sees
a GPU, and what --use_amp does there."""
import dataclasses

from utils.runtime.precision import Amp


@dataclasses.dataclass(frozen=True)
class Device:
    gpu: bool = False
    """TensorFlow sees a GPU: one per process, with memory that grows as needed."""
    amp: Amp = Amp()
    """utils.runtime.precision.decide_amp's decision for --use_amp on this device."""
