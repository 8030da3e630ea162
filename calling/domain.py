"""Domain signals of calling, sent by its services inside the transaction that changed a call or a
teleport (often a conditional UPDATE they won, which fires no post_save). `calling.signals` hands
them to `calling.events`, which publishes after commit: the one way every app emits events.

- `call_changed(sender=Call, call, event_type)`: `call.invited|accepted|declined|cancelled|missed|ended`;
- `teleport_changed(sender=Teleport, teleport, event_type)`: `teleport.invited|accepted|declined|expired`.
"""

from django.dispatch import Signal

call_changed = Signal()
teleport_changed = Signal()
