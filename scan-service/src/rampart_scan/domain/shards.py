"""How a scan is cut into shards: blocks of hosts times blocks of ports, each one job."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One shard: hosts ``[host_start, host_stop)`` x ports ``[port_start, port_stop)``, 1-based index."""

    index: int
    host_start: int
    host_stop: int
    port_start: int
    port_stop: int

    @property
    def probes(self) -> int:
        return (self.host_stop - self.host_start) * (self.port_stop - self.port_start)


@dataclass(frozen=True)
class ShardPlan:
    """A scan's hosts and ports (in the order the engine expands them) and the block sizes.

    A plan of one shard is a scan run whole by one worker (the path scans always took); more
    shards are run by any number of workers, each under its own lease. Memory per shard is
    bounded by ``hosts_per_shard x ports_per_shard`` port states.
    """

    hosts: int = 0
    ports: int = 0
    hosts_per_shard: int = 0
    ports_per_shard: int = 0

    @property
    def host_blocks(self) -> int:
        return -(-self.hosts // self.hosts_per_shard) if self.hosts and self.hosts_per_shard else 1

    @property
    def port_blocks(self) -> int:
        return -(-self.ports // self.ports_per_shard) if self.ports and self.ports_per_shard else 1

    @property
    def count(self) -> int:
        return self.host_blocks * self.port_blocks

    @property
    def sharded(self) -> bool:
        return self.count > 1

    @property
    def probes(self) -> int:
        return self.hosts * self.ports

    def block(self, index: int) -> Block:
        """Shard ``index`` (1-based): host blocks vary slowest, so a host's ports stay together."""
        if not 1 <= index <= self.count:
            raise ValueError(f"shard {index} is not in 1..{self.count}")
        host_block, port_block = divmod(index - 1, self.port_blocks)
        hosts_per = self.hosts_per_shard or self.hosts
        ports_per = self.ports_per_shard or self.ports
        return Block(
            index,
            host_block * hosts_per,
            min(self.hosts, (host_block + 1) * hosts_per),
            port_block * ports_per,
            min(self.ports, (port_block + 1) * ports_per),
        )

    def blocks(self) -> list[Block]:
        return [self.block(index) for index in range(1, self.count + 1)]


def plan_shards(hosts: int, ports: int, hosts_per_shard: int, ports_per_shard: int) -> ShardPlan:
    """Cut ``hosts x ports`` into blocks of at most the given sizes (a small scan is one shard)."""
    if hosts_per_shard < 1 or ports_per_shard < 1:
        raise ValueError("shard sizes must be at least 1")
    return ShardPlan(hosts, ports, min(hosts_per_shard, max(hosts, 1)), min(ports_per_shard, max(ports, 1)))
