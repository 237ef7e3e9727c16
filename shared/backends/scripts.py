"""Lua scripts, kept beside the backend that runs them and loaded only here.

A script is read once per process through ``importlib.resources`` and registered once per Redis client:
redis-py sends EVALSHA and loads the source on the server only when it answers NOSCRIPT, so one call is
one round trip. Every file opens with a comment header naming its ``KEYS:`` and ``ARGV:`` (the contract
with the Python side); a file without both is refused when it is loaded.
"""

from __future__ import annotations

import threading
import weakref
from functools import cache
from importlib import resources

import redis
from redis.commands.core import Script


@cache
def lua_source(package: str, name: str) -> str:
    """The text of ``<package>/<name>.lua``; ValueError if its header lacks ``-- KEYS:`` or ``-- ARGV:``."""
    source = resources.files(package).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    header: list[str] = []
    for line in source.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    for label in ("KEYS:", "ARGV:"):
        if not any(line.startswith(label) for line in header):
            raise ValueError(f"{package}/{name}.lua: the header comment must name its {label}")
    return source


_registered: weakref.WeakKeyDictionary[redis.Redis, dict[tuple[str, str], Script]] = (
    weakref.WeakKeyDictionary()
)
_registered_lock = threading.Lock()


def lua_script(client: redis.Redis, package: str, name: str) -> Script:
    """``<package>/<name>.lua`` registered on ``client``; the same Script object for every caller."""
    with _registered_lock:
        scripts = _registered.setdefault(client, {})
        script = scripts.get((package, name))
        if script is None:
            script = scripts[(package, name)] = client.register_script(lua_source(package, name))
        return script
