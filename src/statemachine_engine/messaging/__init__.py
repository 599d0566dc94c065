"""How machines hear from the outside (control sockets: wake-ups and events) and how
monitors hear from machines (the event socket)."""

__all__: list[str] = []
