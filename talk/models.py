"""Who is in a space's talk (its audio / video), shared by every server process.

A row is one person's place in the talk of the space they are in, held by the socket that joined
(`channel_name`): closing that socket, leaving the space, or the socket's process dying removes it.
The media itself never passes through the server (a WebRTC mesh between the browsers, or LiveKit).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from spaces.models import Space


class TalkParticipant(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="talk_participants")
    # One talk per person: they are in one space at a time, and a second tab joining takes over.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="talk")
    # The socket that joined (OfficeConsumer.channel_name); its close ends this row.
    channel_name = models.CharField(max_length=200, db_index=True)
    audio = models.BooleanField(default=True)
    video = models.BooleanField(default=False)
    screen = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["space_id", "joined_at", "id"]
        indexes = [models.Index(fields=["space", "joined_at"], name="talk_space_joined")]

    def __str__(self) -> str:
        return f"{self.user_id} in the talk of space {self.space_id}"
