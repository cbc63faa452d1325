"""Shape what an attendee in a namespace receives: rate with `tc tbf` on the host end
of its veth pair (the attendee's downlink), random loss with iptables `statistic` on
UDP inside the namespace. This kernel has no `netem`, so added delay is not offered.

Deleting the namespace removes both (the veth and its qdisc go with it); `clear()`
undoes them earlier.
"""

from __future__ import annotations

from tests.network.netns import NamespaceHost, run

LOSS_RULE = ('INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random')


def limit_rate(host: NamespaceHost, kbit: int, latency_ms: int = 200) -> None:
    """At most `kbit` kbit/s towards the attendee; packets queued longer are dropped."""
    # A burst of a few full packets: enough for the rate to hold, too little to let
    # a keyframe through at line speed.
    burst = max(kbit * 1000 // 8 // 50, 4 * 1500)
    run('tc', 'qdisc', 'replace', 'dev', host.host_if, 'root', 'tbf',
        'rate', f'{kbit}kbit', 'burst', str(burst),
        'latency', f'{latency_ms}ms')  # fmt: skip


def add_loss(host: NamespaceHost, percent: float) -> None:
    """Drop `percent` % of the UDP packets the attendee receives, at random."""
    run(*host.exec_argv('iptables', '-A', *LOSS_RULE,
                        '--probability', str(percent / 100), '-j', 'DROP'))  # fmt: skip


def clear(host: NamespaceHost) -> None:
    """Back to an unshaped link."""
    run('tc', 'qdisc', 'del', 'dev', host.host_if, 'root', check=False)
    rules = run(*host.exec_argv('iptables', '-S', 'INPUT'), check=False).stdout
    for line in rules.splitlines():
        if '-m statistic' in line:
            argv = line.split()[1:]  # '-A INPUT ...' -> 'INPUT ...'
            run(*host.exec_argv('iptables', '-D', *argv), check=False)
