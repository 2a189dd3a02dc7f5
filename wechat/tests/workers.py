"""Functions run in child processes by the token tests (importable for the spawn start method)."""

import threading

import redis

from wechat.tokens import TokenStore


def fetch_tokens(redis_url, base_url, appid, secret, threads, barrier_at, results):
    """`threads` callers with their own store and session each; put the tokens they got."""
    client = redis.Redis.from_url(redis_url)
    stores = [TokenStore(client, base_url=base_url, session=None) for _ in range(threads)]
    got = []

    def run(store):
        while client.get(barrier_at) is None:  # start together across processes
            pass
        got.append(store.get_token(appid, secret))

    workers = [threading.Thread(target=run, args=(s,)) for s in stores]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    results.put(got)


def hold_lock_while_fetching(redis_url, base_url, appid, secret, lease):
    """Takes the token lock and hangs in the (slowed-down) fetch until killed."""
    store = TokenStore(
        redis.Redis.from_url(redis_url), base_url=base_url, lock_lease_seconds=lease, timeout=(3.05, 60)
    )
    store.get_token(appid, secret)
