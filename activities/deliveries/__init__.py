"""Notices that reach people: the outbox fanned out per recipient and channel, delivered with
every attempt recorded, and the console inbox.

    fanout.py      outbox notification → inbox messages + pending deliveries (once)
    dispatcher.py  pending deliveries → the channels (activities/channels), attempts recorded
    inbox.py       a person's inbox: unread first, filter by kind, mark read
    operations.py  the operator's list and retry, figures per channel, contact channels

Who receives what is decided in ``domain.recipients`` (pure); the words in ``domain.notices``.
"""

from activities.deliveries.dispatcher import DeliveryDispatcher, DeliveryReport
from activities.deliveries.fanout import FanOut

__all__ = ["DeliveryDispatcher", "DeliveryReport", "FanOut"]
