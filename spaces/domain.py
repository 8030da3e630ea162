"""Domain signals of spaces, sent by its services inside the transaction that changed a knock (often a
conditional UPDATE they won, which fires no post_save). `spaces.signals` hands them to `spaces.events`,
which publishes after commit; apps above (notifications) listen too.

- `knock_changed(sender=Knock, knock, event_type, occupant_ids)`: `event_type` is `space.knock` (a new
  knock; `occupant_ids` are the people inside then, who may answer it), `knock.admitted`,
  `knock.denied` or `knock.expired` (`occupant_ids`: the people inside when it was answered).
- `space_changed(sender=Space, actor, space, action, changes)`: an admin created, edited or deleted a
  space through `space_create` / `space_update` / `space_delete` (`action` `space.created`,
  `space.updated`, `space.deleted`; `changes` `{field: [old, new]}` for an edit). The console's
  audit log listens.
"""

from django.dispatch import Signal

knock_changed = Signal()
space_changed = Signal()
