"""Domain signals of messaging: what happened, for the apps above it (they never get imported here).

`message_deleted_by_other(sender=Message, actor, message)` is sent inside the transaction of
`message_delete` when the person deleting is not the sender (a company admin removing someone's
message): the console's audit log records it.
"""

from django.dispatch import Signal

message_deleted_by_other = Signal()
