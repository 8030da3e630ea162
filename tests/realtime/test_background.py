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


async def test_its_question_is_asked_on_the_event_loop_and_the_work_gets_the_answer(alice, caplog):
    """`ask` runs on the serving loop (where Redis' pooled connections are), the work in the pool
    with its answer; a question that fails hands the work None (it then asks by itself)."""
    socket = await connect(alice)
    loop_thread, got = threading.get_ident(), []

    async def ask() -> str:
        got.append(("asked on", threading.get_ident()))
        return "answer"

    async def ask_fails() -> str:
        raise ConnectionError("redis away")

    @database_sync_to_async
    def action() -> None:
        with transaction.atomic():
            after_commit_in_background(lambda answer: got.append(("work", answer)), name="asking", ask=ask)
        with transaction.atomic():
            after_commit_in_background(lambda answer: got.append(("work", answer)), name="failing", ask=ask_fails)

    await action()
    for _ in range(100):
        if len(got) == 3:
            break
        await asyncio.sleep(0.02)
    assert ("asked on", loop_thread) in got
    assert sorted((item for item in got if item[0] == "work"), key=repr) == [("work", "answer"), ("work", None)]
    assert "background work failing: its question failed" in caplog.text
    await close_all(socket)


def test_elsewhere_the_work_asks_by_itself():
    got = []

    async def ask() -> str:
        raise AssertionError("not asked outside a server process")

    with transaction.atomic():
        after_commit_in_background(lambda answer: got.append(answer), name="test work", ask=ask)
    assert got == [None]
