package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Worker behaviours, chosen per attempt from the task id, the run id and
// the seed, so a run can be replayed.
const (
	behComplete  = "complete"  // heartbeats for a while, then completes
	behOutlive   = "outlive"   // heartbeats for ever: only max runtime or a reclaim ends it
	behStubborn  = "stubborn"  // ignores SIGTERM, starts two children, heartbeats for ever
	behCrash     = "crash"     // exits non-zero
	behClean     = "clean"     // exits 0 without completing (protocol violation)
	behRateLimit = "ratelimit" // exits 75
	behBlock     = "block"     // blocks the task
)

// behaviourOf picks the behaviour of one attempt.
func behaviourOf(task, run, seed string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%s", task, run, seed)
	switch n := h.Sum32() % 100; {
	case n < 35:
		return behComplete
	case n < 50:
		return behOutlive
	case n < 60:
		return behStubborn
	case n < 70:
		return behCrash
	case n < 78:
		return behClean
	case n < 85:
		return behRateLimit
	}
	return behBlock
}

// runWorker is the fake `hermes -p P --cli … chat -q "work kanban task T"`.
// Like upstream's worker it answers SIGTERM by flushing briefly and
// exiting 0; it talks to the board through the store, keeping its
// connection open, so a SIGKILL can land in the middle of a write.
func runWorker(args []string) int {
	if len(args) > 0 && args[0] == "child" {
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return 0
	}
	task, runText := os.Getenv("HERMES_KANBAN_TASK"), os.Getenv("HERMES_KANBAN_RUN_ID")
	run, err := strconv.ParseInt(runText, 10, 64)
	if task == "" || err != nil {
		fmt.Fprintln(os.Stderr, "fake worker: no HERMES_KANBAN_TASK / HERMES_KANBAN_RUN_ID")
		return 2
	}
	beh := behaviourOf(task, runText, os.Getenv("TORTURE_SEED"))
	fmt.Printf("fake worker %s run %d: %s\n", task, run, beh)
	rng := rand.New(rand.NewPCG(uint64(run), uint64(len(task))))
	if beh == behStubborn {
		signal.Ignore(syscall.SIGTERM)
		for i := 0; i < 2; i++ {
			if c := exec.Command(os.Args[0], "child"); c.Start() == nil {
				fmt.Printf("child pid %d\n", c.Process.Pid)
			}
		}
	} else {
		exitOnTerm()
	}
	switch beh {
	case behCrash:
		time.Sleep(jitter(rng, 300, 1500))
		return 1 + rng.IntN(9)
	case behClean:
		time.Sleep(jitter(rng, 300, 1500))
		return 0
	case behRateLimit:
		time.Sleep(jitter(rng, 200, 800))
		return dispatch.RateLimitExitCode
	}
	return work(task, run, beh, rng)
}

// work heartbeats and finishes the way beh says.
func work(task string, run int64, beh string, rng *rand.Rand) int {
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv("HERMES_KANBAN_DB"), store.Options{Board: os.Getenv("HERMES_KANBAN_BOARD")})
	if err != nil {
		fmt.Println("open board:", err)
		return 1
	}
	defer st.Close()
	acks := workerAcks()
	board := os.Getenv("HERMES_KANBAN_BOARD")
	seq := 0
	marker := func() string {
		seq++
		return fmt.Sprintf("mk-w%d-%d", os.Getpid(), seq)
	}
	until := time.Now().Add(jitter(rng, 500, 3000))
	if beh == behOutlive || beh == behStubborn {
		until = time.Now().Add(time.Hour)
	}
	for time.Now().Before(until) {
		note := marker()
		if ok, err := st.HeartbeatWorker(ctx, task, &note, &run); err != nil || !ok {
			fmt.Println("heartbeat refused; stopping", err)
			return 0
		}
		acks.add(ackHeartbeat, board, task, note)
		if beh == behBlock {
			reason := "needs input from a human"
			if _, err := st.BlockTask(ctx, task, &reason, nil, &run); err != nil {
				fmt.Println("block:", err)
				return 1
			}
			return 0
		}
		time.Sleep(jitter(rng, 200, 600))
	}
	result := marker()
	ok, err := st.CompleteTask(ctx, task, store.Completion{Result: &result, ExpectedRun: &run})
	if err != nil {
		fmt.Println("complete:", err)
		return 1
	}
	if ok {
		acks.add(ackComplete, board, task, result)
	}
	return 0
}

// workerAcks is the worker's ack log in TORTURE_ACKDIR, or a log that
// drops everything when the scenario does not collect acks.
func workerAcks() *ackLog {
	dir := os.Getenv("TORTURE_ACKDIR")
	if dir == "" {
		return nil
	}
	l, err := openAckLog(fmt.Sprintf("%s/worker%d.log", dir, os.Getpid()))
	if err != nil {
		fmt.Println("ack log:", err)
		return nil
	}
	return l
}

// exitOnTerm is upstream's worker SIGTERM handler in miniature: a short
// flush, then exit 0.
func exitOnTerm() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		time.Sleep(150 * time.Millisecond)
		os.Exit(0)
	}()
}

func jitter(rng *rand.Rand, loMS, hiMS int) time.Duration {
	return time.Duration(loMS+rng.IntN(hiMS-loMS+1)) * time.Millisecond
}
