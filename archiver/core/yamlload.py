"""Reading YAML fast: ``safe_load`` gives exactly what ``yaml.load(raw, CSafeLoader)`` gives (the same
values, the same errors), built from libyaml's events here for plain documents, about 3x faster than
PyYAML's composer and constructor. The manifest reader (``fixity.manifest``) uses it; its speed is
measured by bench/verify_vs_sha256sum.py. Writing is ``core.yamlemit``'s."""

from __future__ import annotations

from typing import Any


def safe_loader() -> Any:
    """libyaml's safe loader when PyYAML was built with it (4x faster), else Python's."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCALAR_TAGS = {"tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "timestamp")}
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"


class _Every:
    """Contains every character: every scalar goes to the resolver."""

    def __contains__(self, item: object) -> bool:
        return True


_EVERY_CHARACTER = _Every()


class _NotPlain(Exception):  # noqa: N818
    """The document uses something _load_plain leaves to PyYAML's own composer and constructor."""


def safe_load(raw: bytes) -> Any:
    """``yaml.load(raw, CSafeLoader)``, the same values and the same errors, built faster.

    libyaml parses; its events are turned into dicts, lists and scalars here, each plain scalar
    resolved by the loader's own resolver and built by SafeConstructor's own functions, instead of
    by PyYAML's node composer and constructor (about 3x slower). Anything beyond mappings,
    sequences and untagged scalars (anchors, aliases, tags, merge keys, complex keys, several
    documents) or any error sends the whole document through ``yaml.load`` instead."""
    import yaml

    loader_class = safe_loader()
    c_safe_loader: Any = getattr(yaml, "CSafeLoader", None)    # None when PyYAML was built without libyaml
    if loader_class is not c_safe_loader:
        return yaml.load(raw, Loader=loader_class)  # noqa: S506 - a safe loader
    try:
        return _load_plain(loader_class(raw))
    except Exception:  # noqa: BLE001 - _NotPlain, or an error PyYAML reports its own way: let it
        return yaml.load(raw, Loader=loader_class)  # noqa: S506 - a safe loader


def _load_plain(loader: Any) -> Any:
    from yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
        StreamStartEvent,
    )
    from yaml.nodes import ScalarNode

    get = loader.get_event
    try:
        if type(get()) is not StreamStartEvent or type(get()) is not DocumentStartEvent:
            raise _NotPlain
        resolved: dict[str, str] = {}           # plain scalar -> tag: the resolver depends on the value only
        # Resolver.resolve tries only the implicit resolvers filed under a scalar's first character: a
        # scalar starting with any other is a string (so long as no resolver is filed for every
        # character or by path, which the safe loader's are not)
        starts = loader.yaml_implicit_resolvers
        if None in starts or loader.yaml_path_resolvers:
            starts = _EVERY_CHARACTER
        constructors = loader.yaml_constructors
        no_key = object()
        # the open container, whether it is a list, and a mapping's pending key (no_key: none yet);
        # the containers around it are on the stack, with theirs
        container: Any = None
        is_list = False
        key: Any = no_key
        stack: list[tuple[Any, bool, Any]] = []
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None or event.tag is not None:
                    raise _NotPlain
                value = event.value
                if event.implicit[0] and (not value or value[0] in starts):
                    tag = resolved.get(value)
                    if tag is None:
                        tag = resolved[value] = loader.resolve(ScalarNode, value, event.implicit)
                    if tag == _INT_TAG and value.isdigit() and value[0] != "0":
                        value = int(value)       # what construct_yaml_int returns for these
                    elif tag != _STR_TAG:
                        if tag not in _SCALAR_TAGS:
                            raise _NotPlain
                        value = constructors[tag](loader, ScalarNode(tag, value))
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None or event.tag is not None or (
                        container is not None and not is_list and key is no_key):
                    raise _NotPlain              # tagged, anchored, or a complex mapping key
                stack.append((container, is_list, key))
                is_list = kind is SequenceStartEvent
                container, key = ([] if is_list else {}), no_key
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = container
                container, is_list, key = stack.pop()
            elif kind is DocumentEndEvent and container is None:
                break
            else:
                raise _NotPlain                  # an alias, or something unexpected
            if container is None:
                root = value
            elif is_list:
                container.append(value)
            elif key is no_key:
                key = value
            else:
                container[key] = value
                key = no_key
        if type(get()) is not StreamEndEvent:
            raise _NotPlain                      # more than one document
        return root
    finally:
        loader.dispose()
