"""The small part of :mod:`dataclasses` the agent uses: ``@dataclass`` (optionally frozen),
``field(default_factory=...)`` and ``replace``. The standard module imports ``inspect`` (and with
it ``ast``, ``dis`` and ``tokenize``), about 1.3 MiB of the agent's resident memory for nothing it
needs (issue 13: the agent's RSS must stay within 2 MiB of Keepalived's).

Fields are the class's annotations in order, with the class attributes as defaults; instances get
``__init__`` (positional or keyword), ``__repr__``, ``__eq__`` (same class, equal fields), and when
frozen ``__hash__`` and no assignment; ``__post_init__`` runs after ``__init__`` when defined.
"""

from __future__ import annotations


class FrozenInstanceError(AttributeError):
    pass


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


_MISSING = object()


def field(*, default_factory):
    """A field whose default is made per instance (a fresh dict or list)."""
    return _Factory(default_factory)


def dataclass(cls=None, *, frozen: bool = False):
    def wrap(cls):
        # (inspect.get_annotations is what this module avoids importing.)
        names = tuple(n for klass in reversed(cls.__mro__) for n in klass.__dict__.get("__annotations__", {}))  # noqa: RUF063
        names = tuple(dict.fromkeys(names))  # base fields first, each once
        defaults = {}
        for name in names:
            value = getattr(cls, name, _MISSING)
            if value is not _MISSING:
                defaults[name] = value
            if isinstance(value, _Factory):
                delattr(cls, name)
        _build(cls, names, defaults, frozen)
        return cls

    return wrap if cls is None else wrap(cls)


def _build(cls, names: tuple, defaults: dict, frozen: bool) -> None:
    post_init = getattr(cls, "__post_init__", None)

    count = len(names)
    setter = object.__setattr__

    def __init__(self, *args, **kwargs):
        if not kwargs and len(args) == count:  # every field by position: the agent's hot path
            for name, value in zip(names, args):
                setter(self, name, value)
        else:
            _set_fields(self, args, kwargs)
        if post_init is not None:
            post_init(self)

    def _set_fields(self, args, kwargs):
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, got {len(args)}")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
            values[key] = value
        for name in names:
            if name in values:
                value = values[name]
            elif name in defaults:
                value = defaults[name]
                if isinstance(value, _Factory):
                    value = value.make()
            else:
                raise TypeError(f"{cls.__name__}() missing argument {name!r}")
            setter(self, name, value)

    def __repr__(self):
        return f"{cls.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    cls.__init__ = __init__
    cls.__repr__ = __repr__
    cls.__eq__ = __eq__
    cls.__record_fields__ = names
    if frozen:

        def __setattr__(self, name, value):
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self, name):
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        def __hash__(self):
            return hash(tuple(getattr(self, n) for n in names))

        cls.__setattr__ = __setattr__
        cls.__delattr__ = __delattr__
        cls.__hash__ = __hash__
    else:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as a dataclass


def replace(obj, **changes):
    """A copy of ``obj`` with some fields changed."""
    values = {n: getattr(obj, n) for n in obj.__record_fields__}
    values.update(changes)
    return obj.__class__(**values)
