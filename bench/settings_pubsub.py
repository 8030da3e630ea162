"""Experiment only (`bench/run.py --settings bench.settings_pubsub`): the project's settings with the Redis
*PubSub* channel layer (one PUBLISH per group_send) instead of RedisChannelLayer (three round trips)."""

import os

from virtual_office.settings import *  # noqa: F403
from virtual_office.settings import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": os.environ.get("CHANNEL_PREFIX", "vo")},
    }
}
