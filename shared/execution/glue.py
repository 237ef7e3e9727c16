"""Glue hosts (job kind ``glue``): read the hosts the registrar holds, then create or change only those
whose addresses differ, and delete the ones asked.

A host shown with the same addresses sends nothing. A host the listing does not show is set through the
gateway, which reads it once more (ROTLD lists only the hosts the domain delegates to). A delete of a host
already gone is nothing to do (the gateway's own rule)."""

from __future__ import annotations

import ipaddress
from typing import Any

from shared.execution.context import Execution
from shared.execution.day2_ops import day2
from shared.gateways.day2 import GlueHost
from shared.jobs_day2 import GlueJob


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _ips(addresses: Any) -> frozenset[str]:
    found = set()
    for address in addresses:
        try:
            found.add(str(ipaddress.ip_address(str(address).strip())))
        except ValueError:
            found.add(str(address).strip().lower())
    return frozenset(found)


def run_glue(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, GlueJob)
    gateway = day2(ex.registrar, "glue_set", "glue hosts")
    shown = {_host(h.host): h for h in gateway.glue_hosts(job.domain, ex.policy)}
    hosts: dict[str, list[str]] = {}
    for name, addresses in job.hosts.items():
        host = _host(name)
        current = shown.get(host)
        if current is not None and _ips(current.addresses) == _ips(addresses):
            hosts[host] = sorted(_ips(current.addresses))
            continue
        made = gateway.glue_set(job.domain, GlueHost(host, tuple(addresses)), ex.policy)
        hosts[host] = sorted(_ips(made.addresses))
    deleted: list[str] = []
    for name in job.delete:
        host = _host(name)
        gateway.glue_delete(job.domain, host, ex.policy)
        deleted.append(host)
    return {"hosts": hosts, "deleted": deleted}
