"""`after_commit_in_background`: follow-up work of a commit (a group message's notifications) runs after
the commit, never on rollback, and on behalf of a server process off the thread that serves socket
actions, so the action answers without waiting for it."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from tests.realtime.sockets import close_all, connect
from virtual_office.realtime import after_commit_in_background

pytestmark = pytest.mark.django_db(transaction=True)


async def test_on_behalf_of_a_server_it_runs_in_the_pool_and_the_action_does_not_wait(alice, caplog):
    socket = await connect(alice)  # the process' hub runs
    release, ran = threading.Event(), []

    def work() -> None:
        ran.append((threading.get_ident(), release.wait(timeout=5)))

    @database_sync_to_async
    def action() -> int:
        with transaction.atomic():
            after_commit_in_background(work, name="test work")
        with transaction.atomic():
            after_commit_in_background(lambda: ran.append("rolled back"), name="never")
            transaction.set_rollback(True)
        return threading.get_ident()

    caller = await action()  # returned while `work` still waits for `release`
    release.set()
    for _ in range(100):
        if ran:
            break
        await asyncio.sleep(0.02)
    [(thread, released_in_time)] = ran
    assert thread != caller and released_in_time

    def failing() -> None:
        raise ValueError("boom")

    await database_sync_to_async(lambda: after_commit_in_background(failing, name="failing work"))()
    for _ in range(100):
        if "background work failing work failed" in caplog.text:
            break
        await asyncio.sleep(0.02)
    assert "background work failing work failed" in caplog.text
    await close_all(socket)


def test_elsewhere_it_runs_right_after_the_commit_in_the_calling_thread():
    ran = []
    with transaction.atomic():
        after_commit_in_background(lambda: ran.append(threading.get_ident()), name="test work")
        assert ran == []
    assert ran == [threading.get_ident()]
