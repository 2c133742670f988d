"""The hosts of a job across machines: the check of a host's own name, and naming a lost rank."""
import socket

import pytest

from utils.runtime import hosts

SPANNING = {'HOROVOD_CROSS_SIZE': '2', 'HOROVOD_GLOO_IFACE': 'eth0'}


def _check(environ, resolves_to, addresses=('198.18.0.2',), name='hostB'):
    def resolve(_):
        if resolves_to is None:
            raise socket.gaierror(-2, 'Name or service not known')
        return resolves_to
    hosts.check_own_name(environ, lambda: name, resolve, lambda interface: list(addresses))


def test_one_host_is_not_checked():
    _check({'HOROVOD_CROSS_SIZE': '1', 'HOROVOD_GLOO_IFACE': 'eth0'}, '127.0.1.1')
    _check({}, None)


def test_a_name_on_the_interface_passes():
    _check(SPANNING, '198.18.0.2')


def test_a_name_resolving_to_loopback_is_named_with_the_fix():
    with pytest.raises(RuntimeError) as error:
        _check(SPANNING, '127.0.1.1')
    assert str(error.value) == (
        'host hostB: its own name resolves to 127.0.1.1, a loopback address, so the other '
        "hosts' ranks would connect to themselves; map hostB to 198.18.0.2 on that interface "
        'in /etc/hosts, in place of "127.0.1.1 hostB" (Debian and Ubuntu write 127.0.1.1 '
        'there); --network-interface eth0 (198.18.0.2)')


def test_a_name_on_another_interface_is_named():
    with pytest.raises(RuntimeError, match=r'^host hostB: its own name resolves to 10\.1\.2\.3, '
                                           r'which is not on --network-interface eth0 '
                                           r'\(198\.18\.0\.2\)'):
        _check(SPANNING, '10.1.2.3')


def test_a_name_that_does_not_resolve_is_named():
    with pytest.raises(RuntimeError, match='^host hostB: its own name does not resolve'):
        _check(SPANNING, None)


def test_an_interface_without_an_address_here_is_named():
    with pytest.raises(RuntimeError, match='^host hostB: --network-interface eth0 has no IPv4 '
                                           'address here'):
        _check(SPANNING, '198.18.0.2', addresses=())


def test_without_an_interface_only_loopback_is_refused():
    environ = {'HOROVOD_CROSS_SIZE': '2'}  # An MPI launch: no Gloo interface.
    _check(environ, '10.1.2.3', addresses=())
    with pytest.raises(RuntimeError, match='a loopback address'):
        _check(environ, '127.0.0.1', addresses=())


def test_the_interfaces_of_this_machine_are_read():
    assert '127.0.0.1' in hosts.interface_addresses('lo')
    assert hosts.interface_addresses('no-such-interface') == []


def test_a_beacon_answers_while_open_and_is_lost_once_closed():
    beacons = [hosts.Beacon('127.0.0.1') for _ in range(3)]
    peers = [hosts.Peer(rank, f'host{rank}', '127.0.0.1', beacon.port)
             for rank, beacon in enumerate(beacons)]
    assert hosts.unreachable(peers) == []
    beacons[1].close()
    assert hosts.unreachable(peers, timeout_seconds=1.0) == [peers[1]]
    assert str(peers[1]) == 'rank 1 on host1 (127.0.0.1)'
    for beacon in beacons:
        beacon.close()
