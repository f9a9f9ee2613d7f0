"""Run by test_embedded.py in a subprocess: use the embedded services the way manage.py does.

Prints one JSON line (the URLs, the rows in a table, a Redis counter); with `hold`, then
prints "ready" and sleeps until killed.
"""

import json
import os
import sys
import time

from heapsite.embedded import ensure_services


def main() -> None:
    ensure_services()
    import psycopg2
    import redis

    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (id serial PRIMARY KEY)")
        cursor.execute("INSERT INTO probe DEFAULT VALUES")
        cursor.execute("SELECT count(*) FROM probe")
        rows = cursor.fetchone()[0]
        cursor.execute("SHOW io_method")
        io_method = cursor.fetchone()[0]
    connection.close()
    counter = redis.Redis.from_url(os.environ["REDIS_URL"]).incr("probe")
    report = {"database_url": os.environ["DATABASE_URL"], "redis_url": os.environ["REDIS_URL"]}
    print(json.dumps(report | {"rows": rows, "counter": counter, "io_method": io_method}), flush=True)
    if sys.argv[1:] == ["hold"]:
        print("ready", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
