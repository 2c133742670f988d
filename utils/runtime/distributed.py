"""Horovod, the one distributed engine: its initialisation and what the runner needs of it.

A single process is Horovod of size 1. Horovod is optional for a single process: without
it installed, training runs alone with a one-line notice; a launch that asks for several
processes without it is an error.
"""
import dataclasses
import socket

from utils.runtime import hosts
from utils.runtime.errors import error_text

try:
    import horovod.tensorflow as hvd
except ImportError:  # Horovod is an optional dependency for single-process runs.
    hvd = None

_LAUNCHER_SIZE_VARIABLES = ('HOROVOD_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE')


@dataclasses.dataclass(frozen=True)
class Distributed:
    """This process's place in the job."""
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    horovod: bool = False
    peers: tuple = ()
    """Every rank's place (utils.runtime.hosts.Peer) when several run, to name a lost one."""
    beacon: object = dataclasses.field(default=None, compare=False, repr=False)
    """This rank's utils.runtime.hosts.Beacon, open while the process lives."""

    @property
    def is_chief(self):
        """Rank 0 alone writes checkpoints, summaries, logs and predictions."""
        return self.rank == 0


def init(environ):
    """Initialises Horovod when it is installed.

    Args:
        environ: the process environment (main.py passes os.environ), read to detect a
            multi-process launch when Horovod is missing.

    Returns:
        (Distributed, notice): notice is a message for the log, or None.

    Raises:
        RuntimeError: several processes were launched but Horovod is not installed, or the
            job spans hosts and this one's name does not resolve to its network interface.
    """
    if hvd is None:
        for name in _LAUNCHER_SIZE_VARIABLES:
            if int(environ.get(name, '1')) > 1:
                raise RuntimeError(
                    f'{name}={environ[name]}: a multi-process launch needs Horovod, which is '
                    'not installed (see the README for the build line)')
        return Distributed(), 'Horovod is not installed: training as a single process'
    hosts.check_own_name(environ)
    hvd.init()
    peers, beacon = (), None
    if hvd.size() > 1:
        address = hosts.own_address()
        beacon = hosts.Beacon(address)
        peers = tuple(hosts.Peer(*place) for place in hvd.allgather_object(
            (hvd.rank(), socket.gethostname(), address, beacon.port)))
    return Distributed(hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size(), True,
                       peers, beacon), None


def lost_peers(err, distributed):
    """When `err` (an error of a collective op) says that Horovod shut down because a rank
    is gone, the other ranks that no longer answer (utils.runtime.hosts.Peer, maybe none
    found); else None."""
    if not distributed.horovod or distributed.size == 1:
        return None
    shut_down = 'Horovod has been shut down' in error_text(err)
    if not shut_down and type(err).__name__ != 'HorovodInternalError':
        return None
    return hosts.unreachable([peer for peer in distributed.peers
                              if peer.rank != distributed.rank])


def wrap_optimizer(optimizer, distributed):
    """Averages gradients over all processes (a no-op wrapper for one process)."""
    if distributed.horovod:
        return hvd.DistributedOptimizer(optimizer)
    return optimizer


def from_chief(value, distributed):
    """Rank 0's `value` on every rank (a picklable Python object)."""
    if distributed.horovod and distributed.size > 1:
        return hvd.broadcast_object(value, root_rank=0)
    return value


def barrier(distributed):
    """Returns on each rank once every rank has called it (a broadcast of nothing from rank 0:
    Horovod's TensorFlow API has no barrier of its own)."""
    from_chief(None, distributed)


def allgather_fn(distributed):
    """hvd.allgather when several processes run, None for one."""
    return hvd.allgather if distributed.horovod else None


def max_fn(distributed):
    """A function taking a tensor's maximum over all ranks when several processes run, None
    for one."""
    if distributed.horovod and distributed.size > 1:
        return lambda tensor: hvd.allreduce(tensor, op=hvd.Max)
    return None


def broadcast_hooks(distributed):
    """Hooks that start every rank from rank 0's initial weights."""
    if distributed.horovod:
        return [hvd.BroadcastGlobalVariablesHook(0)]
    return []
