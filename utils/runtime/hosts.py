"""The hosts of a job that spans machines: the check of this host's own name before Horovod
starts, and every rank's host and address, to name the one that was lost.

Gloo tells the other ranks to connect to the address this host's own name (the kernel's host
name, not the one given to horovodrun -H) resolves to, whatever --network-interface says. A
name that resolves to a loopback address, as `127.0.1.1 <hostname>` in Debian's and Ubuntu's
/etc/hosts makes it, sends them to their own machine: the job dies in Gloo's first connection,
or waits for it. Checked first, it ends in one line instead.
"""
import dataclasses
import ipaddress
import socket

HOSTS_VARIABLE = 'HOROVOD_CROSS_SIZE'
"""Set by horovodrun for every rank: how many hosts the job spans."""
INTERFACE_VARIABLE = 'HOROVOD_GLOO_IFACE'
"""Set by horovodrun for every rank: the network interface (--network-interface) Gloo uses."""


def interface_addresses(interface):
    """The IPv4 addresses of `interface` on this host, [] when it has none or does not exist."""
    import psutil  # Horovod's own dependency: there wherever several hosts can be launched.
    return [address.address for address in psutil.net_if_addrs().get(interface, ())
            if address.family == socket.AF_INET]


def check_own_name(environ, hostname=socket.gethostname, resolve=socket.gethostbyname,
                   addresses_of=interface_addresses):
    """Checks, when the job spans several hosts, that this host's name resolves to an address
    of the job's network interface. Before hvd.init(), which would fail or hang on it.

    Args:
        environ: the process environment, as horovodrun sets it for the rank.
        hostname, resolve, addresses_of: the lookups (the system's by default).

    Raises:
        RuntimeError: one line naming the host, what its name resolves to, and the fix.
    """
    if int(environ.get(HOSTS_VARIABLE, '1')) <= 1:
        return
    name = hostname()
    interface = environ.get(INTERFACE_VARIABLE)
    addresses = addresses_of(interface) if interface else []
    where = f'--network-interface {interface} ({", ".join(addresses) or "no IPv4 address"})' \
        if interface else 'this host\'s network interface'
    if interface and not addresses:
        raise RuntimeError(f'host {name}: --network-interface {interface} has no IPv4 address '
                           'here; give horovodrun an interface every host has, with its '
                           'address (ip -brief address lists them)')
    fix = f'map {name} to {addresses[0] if addresses else "its address"} on that interface'
    try:
        address = resolve(name)
    except OSError as err:
        raise RuntimeError(f'host {name}: its own name does not resolve ({err}), so the other '
                           f'hosts\' ranks cannot be told where to reach its rank; {fix} in '
                           '/etc/hosts') from None
    if ipaddress.ip_address(address).is_loopback:
        raise RuntimeError(
            f'host {name}: its own name resolves to {address}, a loopback address, so the other '
            f'hosts\' ranks would connect to themselves; {fix} in /etc/hosts, in place of '
            f'"{address} {name}" (Debian and Ubuntu write 127.0.1.1 there); {where}')
    if addresses and address not in addresses:
        raise RuntimeError(
            f'host {name}: its own name resolves to {address}, which is not on {where}; {fix} '
            f'in /etc/hosts, or give horovodrun the --network-interface that holds {address}')


@dataclasses.dataclass(frozen=True)
class Peer:
    """Where one rank runs, and the port of its beacon (Beacon)."""
    rank: int
    host: str
    address: str
    port: int

    def __str__(self):
        return f'rank {self.rank} on {self.host} ({self.address})'


class Beacon:
    """A listening socket that lives as long as its rank's process: the kernel accepts a
    connection to it without the process doing anything, so another rank's connect succeeds
    while the process lives, is refused once it has died, and times out when its host or
    link is gone."""

    def __init__(self, address):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind((address, 0))
        self.socket.listen(64)

    @property
    def port(self):
        return self.socket.getsockname()[1]

    def close(self):
        self.socket.close()


def own_address(hostname=socket.gethostname, resolve=socket.gethostbyname):
    """This host's address as its rank tells the others: its name, resolved."""
    try:
        return resolve(hostname())
    except OSError:
        return '127.0.0.1'


def unreachable(peers, timeout_seconds=3.0):
    """The `peers` whose beacon no longer answers: their process died, or their host or link
    is gone. Probed one after another, each within `timeout_seconds`."""
    lost = []
    for peer in peers:
        try:
            socket.create_connection((peer.address, peer.port), timeout=timeout_seconds).close()
        except OSError:
            lost.append(peer)
    return lost
