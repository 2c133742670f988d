"""Horovod stays optional for one process; a multi-process launch without it is an error."""
import pytest

from utils.runtime import distributed


def test_without_horovod_one_process_runs_alone(monkeypatch):
    monkeypatch.setattr(distributed, 'hvd', None)
    place, notice = distributed.init({})
    assert place == distributed.Distributed() and place.is_chief and place.size == 1
    assert 'Horovod is not installed' in notice


@pytest.mark.parametrize('variable', ['HOROVOD_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE'])
def test_without_horovod_a_multi_process_launch_is_refused(monkeypatch, variable):
    monkeypatch.setattr(distributed, 'hvd', None)
    with pytest.raises(RuntimeError, match=f'{variable}=4: a multi-process launch needs Horovod'):
        distributed.init({variable: '4'})


def test_with_horovod_a_single_process_is_size_one():
    place, notice = distributed.init({})
    assert place.horovod and place.size == 1 and place.rank == 0 and notice is None


def test_a_collective_failing_on_a_lost_rank_names_the_ranks_that_no_longer_answer():
    from utils.runtime import hosts
    alive, gone = hosts.Beacon('127.0.0.1'), hosts.Beacon('127.0.0.1')
    peers = tuple(hosts.Peer(rank, f'host{rank}', '127.0.0.1', beacon.port)
                  for rank, beacon in enumerate((alive, alive, gone)))
    gone.close()
    job = distributed.Distributed(rank=0, size=3, horovod=True, peers=peers)

    class ShutDown(Exception):
        message = 'Horovod has been shut down. This was caused by an exception on one of ...'

    assert distributed.lost_peers(ShutDown(), job) == [peers[2]]
    assert distributed.lost_peers(ValueError('another failure'), job) is None
    assert distributed.lost_peers(ShutDown(), distributed.Distributed()) is None
    alive.close()
