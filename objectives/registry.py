"""Name -> task class registry. A task module registers itself with ``@register("name")``."""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from objectives.errors import ObjectiveError

if TYPE_CHECKING:
    from objectives.base import Task

_TASKS: dict[str, type["Task"]] = {}
_loaded = False
T = TypeVar("T", bound=type)


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make the task available as ``objectives.get(name)``."""

    def wrap(cls: T) -> T:
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))  # type: ignore[attr-defined]
            raise TypeError(f"task '{name}' ({cls.__name__}) cannot be registered: it does not define {missing}")
        if name in _TASKS and _TASKS[name] is not cls:
            raise ValueError(f"task name '{name}' is registered twice ({_TASKS[name].__name__}, {cls.__name__})")
        cls.name = name  # type: ignore[attr-defined]
        _TASKS[name] = cls  # type: ignore[assignment]
        return cls

    return wrap


def _load_builtin() -> None:
    # Importing every module of objectives.tasks runs their @register lines; done lazily so
    # that `import objectives` stays cheap.
    global _loaded
    if _loaded:
        return
    import objectives.tasks as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"objectives.tasks.{info.name}")
    _loaded = True


def names() -> list[str]:
    """Registered task names, sorted."""
    _load_builtin()
    return sorted(_TASKS)


def task_class(name: str) -> type["Task"]:
    """The class registered as ``name``; an unknown name raises with close matches."""
    _load_builtin()
    try:
        return _TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(name, _TASKS, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ObjectiveError(f"unknown task '{name}'{hint}; known tasks: {', '.join(sorted(_TASKS))}") from None


def get(name: str, **params: Any) -> "Task":
    """An instance of task ``name`` with validated ``params``."""
    return task_class(name)(**params)


def resolve_task(task: "Task | str", params: dict[str, Any] | None = None) -> "Task":
    """``task`` itself, or the registered task of that name made with ``params``."""
    if isinstance(task, str):
        return get(task, **(params or {}))
    if params:
        raise ObjectiveError("task params are given with a task instance; pass them to objectives.get() instead")
    return task
