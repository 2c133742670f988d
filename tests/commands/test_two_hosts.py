"""Several machines: horovodrun over two hosts, network namespaces of this machine, each with
its own interface, address, host name, sshd and disk, joined by a virtual Ethernet link.

The ranks talk over that link as they would over a real one: each namespace has its own
network stack and loopback, so nothing between them can take a shortcut. The namespaces, the
link, the sshd processes and the throw-away keys are made by the fixture and removed after
it, pass or fail; every wait is bounded.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SMALL_INPUT

HOSTS = {'hostA': '198.18.0.1', 'hostB': '198.18.0.2'}
"""Addresses of the benchmarking range 198.18.0.0/15: no real network uses them."""
INTERFACE = 'unet0'
"""The link's interface, named alike on both hosts, so Gloo finds one they share."""
SSH_PORT = 2222
HOROVODRUN = os.path.join(os.path.dirname(sys.executable), 'horovodrun')
TRAIN = ['--exec_mode', 'train', '--input_size', str(SMALL_INPUT), '--log_every', '1',
         '--warmup_steps', '0', '--seed', '5', '--optimizer', 'adam']
MODEL_BYTES = 31_030_658 * 4
"""The float32 weights, which each step's allreduce sends over the link."""


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60,
                          **kwargs)


def _missing_tools():
    """Installs sshd with the system's package manager where it is missing and this is root;
    returns what is still missing."""
    if not shutil.which('sshd', path='/usr/sbin:/usr/bin') and shutil.which('apt-get'):
        for step in (['apt-get', 'update', '-qq'],
                     ['apt-get', 'install', '-y', '-qq', '--no-install-recommends',
                      'openssh-server', 'openssh-client']):
            subprocess.run(step, capture_output=True, timeout=600,
                           env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    tools = {'ip': 'iproute2', 'unshare': 'util-linux', 'ssh': 'openssh-client',
             'ssh-keygen': 'openssh-client', 'sshd': 'openssh-server'}
    return [package for tool, package in tools.items()
            if not shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin')]


class TwoHosts:
    """hostA and hostB: namespaces named after this process, an sshd in each, and a disk of
    each host's own at the same path (hostB's is a folder of its own, bind-mounted there)."""

    def __init__(self, root):
        self.root = root
        self.namespaces = {host: f'unet{os.getpid()}{host[-1]}' for host in HOSTS}
        self.disk = root / 'disk'  # The path every host sees as its disk.
        self.own_disks = {'hostA': self.disk, 'hostB': root / 'hostB-disk'}
        self.sshd = {}

    def up(self):
        for disk in self.own_disks.values():
            disk.mkdir()
        keys = self.root / 'ssh'
        keys.mkdir()
        _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(keys / 'id'))
        _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(keys / 'host_key'))
        shutil.copy(keys / 'id.pub', keys / 'authorized_keys')
        (keys / 'sshd_config').write_text(
            f'Port {SSH_PORT}\nHostKey {keys / "host_key"}\n'
            f'AuthorizedKeysFile {keys / "authorized_keys"}\nPasswordAuthentication no\n'
            'KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n')
        a, b = self.namespaces.values()
        for namespace in (a, b):
            _run('ip', 'netns', 'add', namespace)
        _run('ip', 'link', 'add', f'{a}x', 'type', 'veth', 'peer', 'name', f'{b}x')
        for host, namespace in self.namespaces.items():
            # ip netns exec mounts /etc/netns/<namespace>/* over /etc: the host's own
            # /etc/hosts and ssh client configuration.
            etc = self.etc(host)
            (etc / 'ssh').mkdir(parents=True)
            (etc / 'ssh' / 'ssh_config').write_text(
                f'Host *\n  Port {SSH_PORT}\n  IdentityFile {keys / "id"}\n'
                '  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n'
                '  LogLevel ERROR\n  ConnectTimeout 10\n')
            self.write_hosts(host)
            _run('ip', 'link', 'set', f'{namespace}x', 'netns', namespace)
            _run('ip', '-n', namespace, 'link', 'set', f'{namespace}x', 'name', INTERFACE)
            _run('ip', '-n', namespace, 'addr', 'add', f'{HOSTS[host]}/24', 'dev', INTERFACE)
            _run('ip', '-n', namespace, 'link', 'set', INTERFACE, 'up')
            _run('ip', '-n', namespace, 'link', 'set', 'lo', 'up')
            self.start_sshd(host)

    def etc(self, host):
        """What `ip netns exec` mounts over the host's /etc."""
        return pathlib.Path('/etc/netns') / self.namespaces[host]

    def write_hosts(self, host, own_line=None):
        """The host's /etc/hosts: every host's name and address, or with `own_line` in place
        of its own entry (a misconfigured host)."""
        lines = ['127.0.0.1 localhost'] + [
            own_line if name == host and own_line else f'{address} {name}'
            for name, address in HOSTS.items()]
        (self.etc(host) / 'hosts').write_text('\n'.join(lines) + '\n')

    def start_sshd(self, host):
        """sshd in the host's namespace, with the host's name (a UTS namespace of its own)
        and, on hostB, its own disk at the shared path."""
        os.makedirs('/run/sshd', exist_ok=True)  # sshd's privilege separation directory.
        mount = '' if host == 'hostA' else \
            f'mount --bind {self.own_disks[host]} {self.disk} && '
        self.sshd[host] = subprocess.Popen(
            ['ip', 'netns', 'exec', self.namespaces[host], 'unshare', '--uts', '--mount', 'sh',
             '-c', f'{mount}hostname {host} && exec /usr/sbin/sshd -D -e -f '
                   f'{self.root / "ssh" / "sshd_config"}'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while subprocess.run(['ip', 'netns', 'exec', self.namespaces['hostA'], 'ssh', host,
                              'true'], capture_output=True, timeout=30).returncode:
            assert self.sshd[host].poll() is None, f'sshd of {host} exited'
            assert time.monotonic() < deadline, f'no ssh to {host} after 30 s'
            time.sleep(0.2)

    def restart_sshd(self, host):
        self.stop_sshd(host)
        self.start_sshd(host)

    def stop_sshd(self, host):
        process = self.sshd.pop(host, None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)

    def down(self):
        for host, namespace in self.namespaces.items():
            self.stop_sshd(host)
            for pid in subprocess.run(['ip', 'netns', 'pids', namespace], capture_output=True,
                                      text=True).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(['ip', 'netns', 'del', namespace], capture_output=True)
            shutil.rmtree(self.etc(host), ignore_errors=True)
        shutil.rmtree(self.root / 'ssh', ignore_errors=True)

    def horovodrun(self, *args, interface=INTERFACE, environ=None):
        """Starts `horovodrun ... python main.py *args` on hostA, as a user there would."""
        variables = ' '.join(f'{k}={v}' for k, v in (environ or {}).items())
        path = f'{os.path.dirname(sys.executable)}:$PATH'
        command = (f'hostname hostA && cd {ROOT} && exec env PATH={path} {variables} '
                   f'{HOROVODRUN} -np 2 -H hostA:1,hostB:1 '
                   f'--network-interface {interface} -p {SSH_PORT} --start-timeout 60 '
                   f'python main.py ' + ' '.join(args))
        return subprocess.Popen(['ip', 'netns', 'exec', self.namespaces['hostA'], 'unshare',
                                 '--uts', 'sh', '-c', command],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

    def interface_bytes(self, host):
        """(received, sent) bytes of the host's link interface so far."""
        shown = json.loads(_run('ip', '-n', self.namespaces[host], '-s', '-j', 'link', 'show',
                                'dev', INTERFACE).stdout)[0]['stats64']
        return shown['rx']['bytes'], shown['tx']['bytes']

    def pids(self, host, word):
        """The processes in the host's namespace whose command line holds `word`."""
        found = []
        for pid in _run('ip', 'netns', 'pids', self.namespaces[host]).stdout.split():
            try:
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    if word.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
        return found


@pytest.fixture(scope='module')
def hosts(module_tmp_path):
    if os.geteuid() != 0:
        pytest.skip('network namespaces and an sshd per host need root')
    missing = _missing_tools()
    if missing:
        pytest.skip(f'needs the packages {", ".join(sorted(set(missing)))}, which could not '
                    'be installed here')
    two_hosts = TwoHosts(module_tmp_path)
    try:
        two_hosts.up()
        yield two_hosts
    finally:
        two_hosts.down()


def _finish(process, timeout=600):
    """(exit code, output, seconds) of a horovodrun process; killed past `timeout`."""
    started = time.monotonic()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, output, time.monotonic() - started


def _records(model_dir):
    with open(model_dir / 'log.jsonl') as f:
        return [json.loads(line) for line in f]


def _losses(records):
    return {r['step']: r['data']['loss'] for r in records
            if isinstance(r.get('step'), int) and 'loss' in r.get('data', {})}


def _consistency(records):
    return [r['data'] for r in records if r.get('step') == 'train_consistency'][-1]


@pytest.fixture(scope='module')
def data_dir(module_tmp_path):
    """A synthetic set at a path both hosts share, as a shared or copied --data_dir."""
    from utils.data import synthetic
    path = module_tmp_path / 'data'
    synthetic.generate_dataset(str(path), seed=1, train_pages=4, test_pages=2, size=96)
    return str(path)


@pytest.fixture(scope='module')
def two_host_run(hosts, data_dir):
    """Three steps on hostA and hostB, the link's traffic counted around them."""
    model_dir = hosts.disk / 'model'
    before = {host: hosts.interface_bytes(host) for host in HOSTS}
    code, output, _ = _finish(hosts.horovodrun(
        '--data_dir', data_dir, '--model_dir', str(model_dir), *TRAIN, '--max_steps', '3',
        '--save_checkpoints_steps', '2'))
    traffic = {host: tuple(now - then for now, then in zip(hosts.interface_bytes(host),
                                                          before[host])) for host in HOSTS}
    assert code == 0, output[-4000:]
    return model_dir, traffic


@pytest.fixture(scope='module')
def one_host_losses(data_dir, module_tmp_path):
    """The losses of the same command as two processes on this one host, to step 5."""
    model_dir = module_tmp_path / 'one-host'
    process = subprocess.Popen(
        [HOROVODRUN, '-np', '2', '-H', 'localhost:2', '--gloo', sys.executable, 'main.py',
         '--data_dir', data_dir, '--model_dir', str(model_dir), *TRAIN, '--max_steps', '5'],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    code, output, _ = _finish(process)
    assert code == 0, output[-4000:]
    return _losses(_records(model_dir))


def test_two_hosts_train_one_model_over_the_link(two_host_run, hosts):
    model_dir, traffic = two_host_run
    consistency = _consistency(_records(model_dir))
    print(f'train_consistency: {consistency}\nlink bytes (received, sent): {traffic}')
    assert consistency['hosts'] == ['hostA', 'hostB']
    weights = consistency['weights_checksum']
    assert len(weights) == 2 and weights[0] == weights[1]  # Bit-identical weights.
    assert len(set(consistency['samples_checksum'])) == 2  # Each its own samples.
    # Rank 0 alone wrote: hostB's disk, at the same path, is as empty as it was.
    assert os.listdir(hosts.own_disks['hostB']) == []
    assert {'model.ckpt-2.index', 'model.ckpt-3.index'} <= set(os.listdir(model_dir))
    # The allreduce of every step went over the link, both ways: its bytes on each host's
    # interface, whose namespace has a loopback of its own that the other rank cannot use.
    for received, sent in traffic.values():
        assert min(received, sent) > 3 * MODEL_BYTES * 0.9


def test_the_losses_are_those_of_two_processes_on_one_host(two_host_run, one_host_losses):
    model_dir, _ = two_host_run
    losses = _losses(_records(model_dir))
    assert sorted(losses) == [1, 2, 3]
    # Two ranks on one host run with 1 thread each, on two with 2: sums may round otherwise.
    for step, loss in losses.items():
        assert loss == pytest.approx(one_host_losses[step], rel=1e-4), step


def test_a_rerun_resumes_from_the_checkpoint_on_rank_0s_disk_alone(
        two_host_run, one_host_losses, hosts, data_dir):
    model_dir, _ = two_host_run
    code, output, _ = _finish(hosts.horovodrun(
        '--data_dir', data_dir, '--model_dir', str(model_dir), *TRAIN, '--max_steps', '5',
        '--save_checkpoints_steps', '2'))
    assert code == 0, output[-4000:]
    assert 'resuming from the checkpoint at step 3' in output
    records = _records(model_dir)
    consistency = _consistency(records)
    assert consistency['hosts'] == ['hostA', 'hostB']
    assert len(set(consistency['weights_checksum'])) == 1
    assert os.listdir(hosts.own_disks['hostB']) == []
    resumed = {step: loss for step, loss in _losses(records).items() if step > 3}
    assert sorted(resumed) == [4, 5]
    for step, loss in resumed.items():
        assert loss == pytest.approx(one_host_losses[step], rel=1e-4), step


def _wait_for_step(model_dir, step, process, timeout=300):
    deadline = time.monotonic() + timeout
    log = model_dir / 'log.jsonl'
    while not (log.exists() and f'"step": {step},' in log.read_text()):
        assert process.poll() is None, process.communicate()[0][-4000:]
        assert time.monotonic() < deadline, f'no step {step} after {timeout} s'
        time.sleep(0.2)


@pytest.mark.parametrize('how', ['killed', 'link down'])
def test_a_lost_host_ends_the_job_in_one_line_and_a_rerun_resumes(how, hosts, data_dir):
    """hostB's rank killed (its connections close at once), or hostB's link down (nothing
    answers: the others wait for Gloo's timeout, 20 s here)."""
    model_dir = hosts.disk / how.replace(' ', '-')
    process = hosts.horovodrun('--data_dir', data_dir, '--model_dir', str(model_dir), *TRAIN,
                               '--max_steps', '200', '--save_checkpoints_steps', '2',
                               environ={'HOROVOD_GLOO_TIMEOUT_SECONDS': '20'})
    _wait_for_step(model_dir, 3, process)
    lost_at = time.monotonic()
    link = ['ip', '-n', hosts.namespaces['hostB'], 'link', 'set', INTERFACE]
    try:
        if how == 'killed':
            for pid in hosts.pids('hostB', 'main.py'):
                os.kill(pid, signal.SIGKILL)
        else:
            _run(*link, 'down')
        code, output, _ = _finish(process, timeout=180)
    finally:
        if how == 'link down':
            _run(*link, 'up')
            for pid in hosts.pids('hostB', 'main.py'):  # Left waiting on the link.
                os.kill(pid, signal.SIGKILL)
    seconds = time.monotonic() - lost_at
    lines = [line for line in output.splitlines() if 'error: training stopped' in line]
    print(f'{how}: ended {seconds:.1f} s after hostB was lost: {lines}')
    assert code != 0 and seconds < 90
    assert len(lines) == 1
    assert 'lost rank 1 on hostB (198.18.0.2)' in lines[0]
    assert 'rerun the same command with every host to resume from it' in lines[0]
    step = int(lines[0].split('the checkpoint of step ')[1].split()[0])
    # That checkpoint is whole: the rerun restores it, on both hosts again.
    code, output, _ = _finish(hosts.horovodrun(
        '--data_dir', data_dir, '--model_dir', str(model_dir), *TRAIN, '--max_steps',
        str(step + 1)))
    assert code == 0, output[-4000:]
    assert f'resuming from the checkpoint at step {step}' in output
    assert _consistency(_records(model_dir))['hosts'] == ['hostA', 'hostB']


def test_a_host_whose_name_resolves_to_loopback_is_named_at_start(hosts, data_dir, tmp_path):
    hosts.write_hosts('hostB', own_line='127.0.1.1 hostB')  # What Debian and Ubuntu write.
    try:
        code, output, seconds = _finish(hosts.horovodrun(
            '--data_dir', data_dir, '--model_dir', str(tmp_path / 'm'), *TRAIN,
            '--max_steps', '1'), timeout=180)
    finally:
        hosts.write_hosts('hostB')
    lines = [line for line in output.splitlines() if 'error: host hostB' in line]
    print(f'{seconds:.1f} s: {lines}')
    assert code != 0 and len(lines) == 1
    assert 'its own name resolves to 127.0.1.1, a loopback address' in lines[0]
    assert 'map hostB to 198.18.0.2 on that interface in /etc/hosts' in lines[0]


def test_an_interface_one_host_lacks_is_named_at_start(hosts, data_dir, tmp_path):
    namespace = hosts.namespaces['hostA']
    # An interface of hostA's alone (a link to nowhere): hostB has none of that name.
    _run('ip', '-n', namespace, 'link', 'add', 'unet1', 'type', 'veth', 'peer', 'name',
         'unet1x')
    _run('ip', '-n', namespace, 'addr', 'add', '198.18.1.1/24', 'dev', 'unet1')
    _run('ip', '-n', namespace, 'link', 'set', 'unet1', 'up')
    try:
        code, output, seconds = _finish(hosts.horovodrun(
            '--data_dir', data_dir, '--model_dir', str(tmp_path / 'm'), *TRAIN,
            '--max_steps', '1', interface='unet1'), timeout=180)
    finally:
        _run('ip', '-n', namespace, 'link', 'del', 'unet1')
    # Both hosts refuse it (hostA's name is not on unet1); whichever rank ends first, the
    # job ends, and its line names the interface.
    lines = [line for line in output.splitlines() if 'error: host host' in line]
    print(f'{seconds:.1f} s: {lines}')
    assert code != 0 and lines
    expected = {'hostB': '--network-interface unet1 has no IPv4 address here',
                'hostA': 'its own name resolves to 198.18.0.1, which is not on '
                         '--network-interface unet1 (198.18.1.1)'}
    for line in lines:
        host = line.split('error: host ')[1].split(':')[0]
        assert expected[host] in line, line
