"""``python -m bench.breaker``: see :mod:`bench.breaker.cli`."""

from bench.breaker.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
