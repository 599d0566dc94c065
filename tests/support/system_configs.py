"""Machine configs the statemachine-system tests run: one that waits for ``stop``, one
that fails at once."""

#: Waits in ``waiting`` until ``stop``, then logs "<name> stops" and ends.
WAITER = """
name: Waiter
initial_state: waiting
states: [waiting, stopped]
final: [stopped]
transitions:
  - {from: waiting, to: stopped, event: stop}
actions:
  stopped:
    - {type: log, message: "{machine_name} stops"}
"""

#: Ends right after its action fails: ``statemachine`` exits 1.
BOOM = """
name: Boom
initial_state: boom
states: [boom]
final: [boom]
actions:
  boom:
    - {type: bash, command: "exit 3"}
"""
