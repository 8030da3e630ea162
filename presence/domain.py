"""Domain signals of presence: what happened, for the apps above it (they never get imported here).

`went_offline(sender=Presence, user, presence)` is sent inside the transaction that marked the user
offline (their last socket closed and the grace period passed, or their process died): spaces takes
them out of their space in the same transaction.
"""

from django.dispatch import Signal

went_offline = Signal()
