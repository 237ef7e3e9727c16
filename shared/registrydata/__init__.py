"""Registration data for any domain: RDAP (IANA bootstrap) with WHOIS fallback, DNS for nameserver
addresses, RDAP IP queries for who holds them. One subpackage per concern, none importing Celery::

    registrydata/
    ├── model.py        the results (Registration, DomainLookup, ...) and their JSON shape
    ├── rdap/           bootstrap (snapshot, refresh, override), client, parser, IP registrants
    ├── whois/          TCP client, referrals and per-server syntax, parser, throttle texts
    ├── dns/            A/AAAA of nameserver hosts (dnspython)
    ├── cache/          domain:/ns:/ipreg: caches (Redis, memory)
    ├── singleflight/   one upstream fetch per key across the fleet (Redis, memory)
    └── pipeline.py     lookup_domain / lookup_nameserver / lookup_ip_registrant, partial results
"""
