"""The builtin actions, one module per type: ``<type>_action.py`` -> ``<Type>Action``."""

__all__: list[str] = []
