#!/usr/bin/env python3
"""A stand-in for upstream hermes' Python side of a kanban board.

kanbanshim's interop tests run this next to real `kanban` processes on one
board. It connects the way upstream's kanban_db_connect does (autocommit,
busy_timeout 120000, a read-only journal_mode check, synchronous=FULL,
wal_autocheckpoint=100, foreign_keys=ON, ...), writes with upstream's
write_txn discipline (BEGIN IMMEDIATE, BEGIN and COMMIT retried 5 times on
"database is locked"/"busy" with a 20-150 ms random sleep, ROLLBACK on any
error) and uses upstream's statement shapes for create_task, claim_task,
heartbeat_worker, add_comment and complete_task. It takes none of
kanbanshim's lock files, exactly like upstream.

Written for kanbanshim from the behaviour described in its spec; it is not
upstream code. Standard library only.

Usage:
  peer.py DB work --writes N --tag TAG [--foreign-comments]
  peer.py DB comment TASK_ID TEXT
  peer.py DB hold TASK_ID SECONDS
  peer.py DB lock init|dispatch SECONDS [--wait SECONDS]
  peer.py DB check
  peer.py DB keep N
  peer.py DB die TASK_ID N

`hold` adds a comment inside a write transaction that it keeps open for
SECONDS, printing {"holding": true} once it holds SQLite's write lock.

`lock` takes <DB>.init.lock or <DB>.dispatch.lock the way upstream does
(fcntl.flock LOCK_EX|LOCK_NB; init polls every 50 ms for up to --wait
seconds, 10 by default, dispatch tries once), prints {"locked": bool},
and if it got the lock keeps it for SECONDS.

`keep` turns automatic checkpoints off (wal_autocheckpoint=0), creates N
tasks, each in its own transaction, prints {"created": [...]} and keeps the
connection open until its stdin closes: the board's -wal then holds every
one of those commits while the connection lives.

`die` starts a write transaction on a tiny page cache (cache_size=2), so
SQLite spills changed pages into the database file before the commit,
adds N long comments to TASK_ID ("-": the oldest task), prints {"dying": true} and waits to be
killed: the writer that dies mid-transaction, leaving a hot -journal
behind (in rollback mode).

Every command prints one JSON object on stdout. Exit 0 on success, 1 when a
write failed (the JSON says which), 2 on bad usage or a missing board.
"""

import argparse
import fcntl
import json
import os
import random
import secrets
import sqlite3
import sys
import time

BUSY_MS = 120000
RETRIES = 5


def connect(path):
    """Open like upstream: never create the board, never set journal_mode."""
    if not os.path.exists(path):
        raise SystemExit(usage_error("no kanban DB at %s" % path))
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=%d" % BUSY_MS)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]  # read only
    for pragma in (
        "PRAGMA synchronous=FULL",
        "PRAGMA wal_autocheckpoint=100",
        "PRAGMA journal_size_limit=8388608",
        "PRAGMA foreign_keys=ON",
        "PRAGMA secure_delete=ON",
        "PRAGMA cell_size_check=ON",
    ):
        conn.execute(pragma)
    return conn, str(mode).lower()


def usage_error(msg):
    print(json.dumps({"error": msg}))
    return 2


def is_locked(exc):
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


class Stats:
    locked_retries = 0


def retried(conn, sql):
    """BEGIN IMMEDIATE or COMMIT with upstream's bounded retry on lock."""
    for attempt in range(RETRIES):
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or attempt == RETRIES - 1:
                raise
            Stats.locked_retries += 1
            time.sleep(random.uniform(0.020, 0.150))


def write_txn(conn, fn):
    """One write transaction: all of fn's statements or none of them."""
    retried(conn, "BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        retried(conn, "COMMIT")
        return result
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def now():
    return int(time.time())


def dumps(obj):
    """Stored payloads: json.dumps with ensure_ascii=False; falsy -> NULL."""
    return json.dumps(obj, ensure_ascii=False) if obj else None


def event(conn, task_id, kind, payload, run_id=None):
    conn.execute(
        "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (task_id, run_id, kind, dumps(payload), now()),
    )


def create_task(conn, title, created_by):
    task_id = "t_" + secrets.token_hex(4)

    def body(c):
        ts = now()
        c.execute(
            "INSERT INTO tasks (id, title, body, assignee, status, priority, "
            "created_by, created_at, workspace_kind, workspace_path, branch_name, "
            "project_id, tenant, idempotency_key, max_runtime_seconds, skills, "
            "max_retries, model_override, provider_override, reasoning_effort, "
            "goal_mode, goal_max_turns, session_id, completion_contract) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, title, None, None, "ready", 0, created_by, ts, "scratch",
             None, None, None, None, None, None, None, None, None, None, None,
             0, None, None, "local-only"),
        )
        event(c, task_id, "created", {
            "assignee": None, "status": "ready", "parents": [],
            "creator_task_id": None, "tenant": None, "workspace_kind": "scratch",
            "workspace_path": None, "branch_name": None, "project_id": None,
            "skills": None, "goal_mode": None, "model_override": None,
            "provider_override": None,
        })
        return task_id

    return write_txn(conn, body)


def claim_task(conn, task_id, ttl=900):
    lock = "%s:%d" % (os.uname().nodename, os.getpid())

    def body(c):
        ts = now()
        expires = ts + ttl
        cur = c.execute(
            "UPDATE tasks SET status='running', claim_lock=?, claim_expires=?, "
            "started_at=COALESCE(started_at, ?) "
            "WHERE id=? AND status='ready' AND claim_lock IS NULL",
            (lock, expires, ts, task_id),
        )
        if cur.rowcount != 1:
            return None
        row = c.execute(
            "SELECT assignee, max_runtime_seconds, current_step_key FROM tasks WHERE id=?",
            (task_id,),
        ).fetchone()
        run_id = c.execute(
            "INSERT INTO task_runs (task_id, profile, step_key, status, claim_lock, "
            "claim_expires, max_runtime_seconds, started_at) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (task_id, row["assignee"], row["current_step_key"], lock, expires,
             row["max_runtime_seconds"], ts),
        ).lastrowid
        c.execute("UPDATE tasks SET current_run_id=? WHERE id=?", (run_id, task_id))
        event(c, task_id, "claimed", {"lock": lock, "expires": expires, "run_id": run_id}, run_id)
        return run_id

    return write_txn(conn, body)


def heartbeat_worker(conn, task_id, note=None):
    def body(c):
        ts = now()
        cur = c.execute(
            "UPDATE tasks SET last_heartbeat_at=? WHERE id=? AND status='running'",
            (ts, task_id),
        )
        if cur.rowcount != 1:
            return False
        run_id = c.execute("SELECT current_run_id FROM tasks WHERE id=?", (task_id,)).fetchone()[0]
        if run_id is not None:
            c.execute("UPDATE task_runs SET last_heartbeat_at=? WHERE id=?", (ts, run_id))
        event(c, task_id, "heartbeat", {"note": note} if note else None, run_id)
        return True

    return write_txn(conn, body)


def add_comment(conn, task_id, author, text):
    def body(c):
        if c.execute("SELECT 1 FROM tasks WHERE id=?", (task_id,)).fetchone() is None:
            raise ValueError("unknown task %s" % task_id)
        comment_id = c.execute(
            "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, ?, ?, ?)",
            (task_id, author.strip(), text.strip(), now()),
        ).lastrowid
        event(c, task_id, "commented", {"author": author, "len": len(text)})
        return comment_id

    return write_txn(conn, body)


def complete_task(conn, task_id, result):
    def body(c):
        ts = now()
        cur = c.execute(
            "UPDATE tasks SET status='done', result=?, completed_at=?, claim_lock=NULL, "
            "claim_expires=NULL, worker_pid=NULL, block_kind=NULL, block_recurrences=0 "
            "WHERE id=? AND status IN ('running', 'ready', 'blocked', 'review')",
            (result, ts, task_id),
        )
        if cur.rowcount != 1:
            return False
        run_id = c.execute("SELECT current_run_id FROM tasks WHERE id=?", (task_id,)).fetchone()[0]
        if run_id is not None:
            c.execute(
                "UPDATE task_runs SET status='done', outcome='completed', summary=?, "
                "error=NULL, metadata=NULL, ended_at=?, claim_lock=NULL, "
                "claim_expires=NULL, worker_pid=NULL WHERE id=? AND ended_at IS NULL",
                (result, ts, run_id),
            )
            c.execute("UPDATE tasks SET current_run_id=NULL WHERE id=?", (task_id,))
        summary = result.strip().splitlines()[0][:400] if result and result.strip() else None
        event(c, task_id, "completed", {"result_len": len(result or ""), "summary": summary}, run_id)
        return True

    done = write_txn(conn, body)
    if done:  # upstream clears the failure counter in its own transaction
        write_txn(conn, lambda c: c.execute(
            "UPDATE tasks SET consecutive_failures=0, last_failure_error=NULL WHERE id=?",
            (task_id,)))
    return done


def hold(conn, task_id, seconds):
    """Comment on task_id, keeping the write transaction open a while."""
    def body(c):
        comment_id = c.execute(
            "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, ?, ?, ?)",
            (task_id, "peer", "held for %gs" % seconds, now()),
        ).lastrowid
        event(c, task_id, "commented", {"author": "peer", "len": 12})
        print(json.dumps({"holding": True}), flush=True)
        time.sleep(seconds)
        return comment_id

    return {"comment_id": write_txn(conn, body)}


def take_lock(db, which, hold_seconds, wait):
    """Upstream's named locks: a separate file next to the board, flock."""
    fd = os.open("%s.%s.lock" % (db, which), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + (wait if which == "init" else 0)
    locked = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    print(json.dumps({"locked": locked}), flush=True)
    if locked:
        time.sleep(hold_seconds)
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    return {"released": locked}


def keep(conn, n):
    """Commit n creates with checkpoints off, then hold the connection."""
    conn.execute("PRAGMA wal_autocheckpoint=0")
    created = [create_task(conn, "kept task %d" % i, "keep") for i in range(n)]
    print(json.dumps({"created": created}), flush=True)
    sys.stdin.read()
    return {"kept": len(created)}


def die(conn, task_id, n):
    """Spill an uncommitted transaction into the database, then wait."""
    if task_id == "-":
        task_id = conn.execute("SELECT id FROM tasks ORDER BY created_at, id LIMIT 1").fetchone()[0]
    conn.execute("PRAGMA cache_size=2")
    conn.execute("BEGIN IMMEDIATE")
    for i in range(n):
        conn.execute(
            "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, ?, ?, ?)",
            (task_id, "dying", ("uncommitted %d " % i) * 200, now()),
        )
    print(json.dumps({"dying": True}), flush=True)
    while True:
        time.sleep(60)


def foreign_task(conn, tag):
    """A random task some other writer (kanban) created, read outside any
    transaction as upstream reads."""
    row = conn.execute(
        "SELECT id FROM tasks WHERE created_by IS NOT ? ORDER BY random() LIMIT 1", (tag,)
    ).fetchone()
    return row[0] if row else None


def work(conn, args):
    """args.writes write commands in cycles of create, claim, heartbeat,
    comment, complete on the peer's own tasks. With --foreign-comments the
    comment goes to a task kanban created, when one exists."""
    out = {"tag": args.tag, "created": [], "writes": 0, "foreign_commented": [],
           "errors": []}
    task = None
    step = 0
    while out["writes"] < args.writes:
        op = ("create", "claim", "heartbeat", "comment", "complete")[step % 5]
        step += 1
        try:
            if op == "create":
                task = create_task(conn, "%s task %d" % (args.tag, len(out["created"])), args.tag)
                out["created"].append(task)
            elif op == "claim":
                if claim_task(conn, task) is None:
                    raise RuntimeError("claim %s lost" % task)
            elif op == "heartbeat":
                if not heartbeat_worker(conn, task, "step %d" % step):
                    raise RuntimeError("heartbeat %s refused" % task)
            elif op == "comment":
                target = foreign_task(conn, args.tag) if args.foreign_comments else None
                add_comment(conn, target or task, args.tag, "%s comment %d" % (args.tag, step))
                if target:
                    out["foreign_commented"].append(target)
            else:
                if not complete_task(conn, task, "%s done" % args.tag):
                    raise RuntimeError("complete %s refused" % task)
        except Exception as exc:  # report, keep going: the test decides
            out["errors"].append("%s: %s" % (op, exc))
        out["writes"] += 1
    out["locked_retries"] = Stats.locked_retries
    return out


def check(conn, mode):
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    counts = {}
    for table in ("tasks", "task_comments", "task_events", "task_runs"):
        counts[table] = conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    return {"integrity": rows, "journal_mode": mode, "counts": counts,
            "sqlite_version": sqlite3.sqlite_version}


def main(argv):
    p = argparse.ArgumentParser(prog="peer.py")
    p.add_argument("db")
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("work")
    w.add_argument("--writes", type=int, required=True)
    w.add_argument("--tag", required=True)
    w.add_argument("--foreign-comments", action="store_true")
    c = sub.add_parser("comment")
    c.add_argument("task_id")
    c.add_argument("text")
    h = sub.add_parser("hold")
    h.add_argument("task_id")
    h.add_argument("seconds", type=float)
    lk = sub.add_parser("lock")
    lk.add_argument("which", choices=("init", "dispatch"))
    lk.add_argument("seconds", type=float)
    lk.add_argument("--wait", type=float, default=10.0)
    sub.add_parser("check")
    k = sub.add_parser("keep")
    k.add_argument("n", type=int)
    d = sub.add_parser("die")
    d.add_argument("task_id")
    d.add_argument("n", type=int)
    args = p.parse_args(argv)
    if args.cmd == "lock":  # no connection: upstream locks before connecting
        print(json.dumps(take_lock(args.db, args.which, args.seconds, args.wait)))
        return 0

    conn, mode = connect(args.db)
    if args.cmd == "work":
        out = work(conn, args)
        out["journal_mode"] = mode
    elif args.cmd == "comment":
        out = {"comment_id": add_comment(conn, args.task_id, "peer", args.text)}
    elif args.cmd == "hold":
        out = hold(conn, args.task_id, args.seconds)
    elif args.cmd == "keep":
        out = keep(conn, args.n)
    elif args.cmd == "die":
        out = die(conn, args.task_id, args.n)
    else:
        out = check(conn, mode)
    conn.close()
    print(json.dumps(out))
    return 1 if out.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
