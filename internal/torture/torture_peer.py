#!/usr/bin/env python3
"""A Python writer for kanbanshim's kill-9 torture.

It drives internal/pypeer's peer.py (upstream hermes' connection PRAGMAs,
BEGIN IMMEDIATE write transactions with the bounded lock retry, and the
statement shapes of create_task, claim_task, heartbeat_worker, add_comment
and complete_task) in a loop, through Python's own sqlite3 module, and
appends an ack line for each write only after its commit() returned.

Usage:
  torture_peer.py DB BOARD NAME ACKLOG [seed=N] [pause=P] [ttl=S] [cancel-locks=1] [idle=1]

  pause=P         with probability P, stop inside the write transaction just
                  before COMMIT, print "paused-in-txn" and wait there (for
                  the harness to SIGKILL it)
  ttl=S           claim lifetime in seconds
  cancel-locks=1  UNSAFE (the control run): open and close the database file
                  inside every write transaction, which drops this process's
                  POSIX locks on it (upstream's _check_file_length_invariant),
                  then wait 30 ms before COMMIT
  idle=1          just keep the board open (print "holding") until killed

SIGTERM ends the loop after the write in progress.
"""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402  (internal/pypeer/peer.py, written next to this file)

STOP = False


def on_term(*_):
    global STOP
    STOP = True


def main(argv):
    db, board, name, ack_path = argv[:4]
    opts = dict(a.split("=", 1) for a in argv[4:])
    rng = random.Random(int(opts.get("seed", "0")))
    pause = float(opts.get("pause", "0"))
    ttl = int(opts.get("ttl", "2"))
    cancel = opts.get("cancel-locks") == "1"
    signal.signal(signal.SIGTERM, on_term)

    print("connecting", flush=True)
    conn, _mode = peer.connect(db)
    print("connected (%s)" % _mode, flush=True)
    if opts.get("idle") == "1":
        conn.execute("SELECT count(*) FROM tasks").fetchone()
        print("holding", flush=True)
        while not STOP:
            time.sleep(0.2)
        return 0

    ack_fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    seq = [0]

    def marker():
        seq[0] += 1
        return "mk-%s-%d" % (name, seq[0])

    def ack(kind, task, mk):
        os.write(ack_fd, ("%s\t%s\t%s\t%s\n" % (kind, board, task, mk)).encode())

    plain_retried = peer.retried

    def retried(c, sql):
        if sql == "COMMIT":
            if cancel:
                fd = os.open(db, os.O_RDONLY)
                os.pread(fd, 4, 28)
                os.close(fd)  # drops every fcntl lock this process holds on db
                time.sleep(0.03)  # other writers get in while SQLite thinks it holds RESERVED
            if pause and rng.random() < pause:
                print("paused-in-txn", flush=True)
                time.sleep(60)
        return plain_retried(c, sql)

    peer.retried = retried

    task = None
    step = 0
    errors = 0
    while not STOP:
        op = ("create", "comment", "claim", "heartbeat", "complete")[step % 5]
        step += 1
        try:
            if op == "create":
                mk = marker()
                task = peer.create_task(conn, "py %s" % mk, name)
                ack("create", task, mk)
            elif op == "comment":
                mk = marker()
                peer.add_comment(conn, task, name, mk)
                ack("comment", task, mk)
            elif op == "claim":
                run = peer.claim_task(conn, task, ttl)
                if run is not None:
                    ack("claim", task, "run%d" % run)
            elif op == "heartbeat":
                mk = marker()
                if peer.heartbeat_worker(conn, task, mk):
                    ack("heartbeat", task, mk)
            else:
                mk = marker()
                if peer.complete_task(conn, task, mk):
                    ack("complete", task, mk)
        except Exception as exc:  # a refused or failed write is not acked
            errors += 1
            print("%s: %s" % (op, exc), file=sys.stderr, flush=True)
            if op == "create":
                step = 0
            time.sleep(0.05)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
