"""How machines hear from the outside: control sockets (wake-ups and events)."""
