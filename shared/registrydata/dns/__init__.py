"""A and AAAA of a nameserver host (dnspython), through ``REGQ_DNS_NAMESERVERS`` or the system resolver.

What a caller gets, for :func:`resolve` and :meth:`DnsResolver.resolve`:

* addresses: a :class:`~shared.registrydata.model.NameserverAddresses`, IPv4 then IPv6, each sorted;
* NXDOMAIN, or a name without A/AAAA records (or not even a valid DNS name): the same, with empty ``ips``
  (a definite answer, cacheable as not found);
* SERVFAIL (or REFUSED) from every server, or no answer within ``REGQ_DNS_TIMEOUT_SECONDS``: a
  :class:`~shared.errors.TransientError` (``provider="dns"``), so the pipeline reports a partial result.
"""

from shared.registrydata.dns.resolver import DnsResolver, resolve, resolver_for

__all__ = ["DnsResolver", "resolve", "resolver_for"]
