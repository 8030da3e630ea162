"""Domain signals of spaces, sent by its services inside the transaction that changed a knock (often a
conditional UPDATE they won, which fires no post_save). `spaces.signals` hands them to `spaces.events`,
which publishes after commit; apps above (notifications) listen too.

- `knock_changed(sender=Knock, knock, event_type, occupant_ids)`: `event_type` is `space.knock` (a new
  knock; `occupant_ids` are the people inside then, who may answer it), `knock.admitted`,
  `knock.denied` or `knock.expired` (`occupant_ids`: the people inside when it was answered).
"""

from django.dispatch import Signal

knock_changed = Signal()
