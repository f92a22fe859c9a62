package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	notifySubscribeVerb = &verbInfo{name: "notify-subscribe", usage: "notify-subscribe <task_id> --platform P --chat-id C [--thread-id T] [options]",
		summary: "subscribe a gateway chat to a task's terminal events", required: []string{"task_id"}, maxArgs: 1, mutating: true,
		new:     func() command { return &notifySubCmd{} },
		example: "  kanban notify-subscribe t_9fc1a3 --platform telegram --chat-id 12345 --delivery-mode notify+wake"}
	notifyListVerb = &verbInfo{name: "notify-list", usage: "notify-list [task_id] [--json]", summary: "list notification subscriptions",
		maxArgs: 1, new: func() command { return &notifyListCmd{} }, example: "  kanban notify-list\n  kanban notify-list t_9fc1a3 --json"}
	notifyUnsubscribeVerb = &verbInfo{name: "notify-unsubscribe", usage: "notify-unsubscribe <task_id> --platform P --chat-id C [--thread-id T]",
		summary: "remove a gateway subscription from a task", required: []string{"task_id"}, maxArgs: 1, mutating: true,
		new:     func() command { return &notifyUnsubCmd{} },
		example: "  kanban notify-unsubscribe t_9fc1a3 --platform telegram --chat-id 12345"}
)

// notifyTarget is the subscription key shared by subscribe and unsubscribe.
type notifyTarget struct{ platform, chatID, threadID optString }

func (t *notifyTarget) flags(fs *pflag.FlagSet) {
	fs.Var(&t.platform, "platform", "gateway platform (required)")
	fs.Var(&t.chatID, "chat-id", "chat id (required)")
	fs.Var(&t.threadID, "thread-id", "thread id")
}

// check is argparse's required-option error.
func (t *notifyTarget) check(verb string) error {
	var missing []string
	if t.platform.v == nil {
		missing = append(missing, "--platform")
	}
	if t.chatID.v == nil {
		missing = append(missing, "--chat-id")
	}
	if len(missing) > 0 {
		return usagef("kanban %s: error: the following arguments are required: %s", verb, strings.Join(missing, ", "))
	}
	return nil
}

type notifySubCmd struct {
	notifyTarget
	userID, userIDAlt, notifier optString
	chatType, mode              choiceString
}

func (c *notifySubCmd) flags(fs *pflag.FlagSet) {
	c.notifyTarget.flags(fs)
	fs.Var(&c.userID, "user-id", "user id")
	fs.Var(&c.userIDAlt, "user-id-alt", "alternate user id (Signal UUID, Feishu union_id, …)")
	c.chatType = choiceString{choices: []string{"dm", "group", "channel", "thread"}}
	fs.Var(&c.chatType, "chat-type", "originating chat type: dm, group, channel, thread")
	fs.Var(&c.notifier, "notifier-profile", "profile whose gateway delivers (default: the current profile)")
	c.mode = choiceString{choices: store.DeliveryModes}
	fs.Var(&c.mode, "delivery-mode", "notify, notify+wake or wake")
}

func (c *notifySubCmd) run(ctx context.Context, a *App, args []string) error {
	if err := c.check("notify-subscribe"); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := args[0]
	if t, err := st.GetTask(id); err != nil || t == nil {
		if err != nil {
			return err
		}
		return failf("no such task: %s", id)
	}
	notifier := strOr(c.notifier.v, "")
	if notifier == "" {
		notifier = a.Env.Author()
	}
	err = st.AddNotifySub(ctx, store.NotifySub{TaskID: id, Platform: *c.platform.v, ChatID: *c.chatID.v,
		ThreadID: c.threadID.String(), UserID: c.userID.String(), UserIDAlt: c.userIDAlt.String(),
		ChatType: c.chatType.String(), NotifierProfile: notifier, DeliveryMode: c.mode.String()})
	if err != nil {
		return err
	}
	a.out("Subscribed %s to %s", subTarget(*c.platform.v, *c.chatID.v, c.threadID.String()), id)
	return nil
}

// subTarget is "platform:chat[:thread]".
func subTarget(platform, chat, thread string) string {
	s := platform + ":" + chat
	if thread != "" {
		s += ":" + thread
	}
	return s
}

type notifyListCmd struct{ json bool }

func (c *notifyListCmd) flags(fs *pflag.FlagSet) { fs.BoolVar(&c.json, "json", false, "JSON output") }

func (c *notifyListCmd) run(ctx context.Context, a *App, args []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := ""
	if len(args) > 0 {
		id = args[0]
	}
	subs, err := st.ListNotifySubs(id)
	if err != nil {
		return err
	}
	if c.json {
		out := []any{}
		for _, s := range subs {
			out = append(out, s)
		}
		a.printJSON(out, false)
		return nil
	}
	if len(subs) == 0 {
		a.out("(no subscriptions)")
		return nil
	}
	for _, s := range subs {
		a.out("%s", notifyLine(s))
	}
	return nil
}

// notifyLine is one `notify-list` row; defaults (dm, notify) are not shown.
func notifyLine(s py.Object) string {
	get := func(k string) string {
		v, _ := s.Get(k)
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	mode, ctype := get("delivery_mode"), get("chat_type")
	if mode == "" {
		mode = "notify"
	}
	if ctype == "" {
		ctype = "dm"
	}
	extras := ""
	if o := get("notifier_profile"); o != "" {
		extras += "  owner=" + o
	}
	if ctype != "dm" {
		extras += "  chat_type=" + ctype
	}
	if alt := get("user_id_alt"); alt != "" {
		extras += "  user_id_alt=" + alt
	}
	if mode != "notify" {
		extras += "  mode=" + mode
	}
	return fmt.Sprintf("  %s  %s  (since event %s)%s", padRight(get("task_id"), 10),
		subTarget(get("platform"), get("chat_id"), get("thread_id")), get("last_event_id"), extras)
}

type notifyUnsubCmd struct{ notifyTarget }

func (c *notifyUnsubCmd) flags(fs *pflag.FlagSet) { c.notifyTarget.flags(fs) }

func (c *notifyUnsubCmd) run(ctx context.Context, a *App, args []string) error {
	if err := c.check("notify-unsubscribe"); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.RemoveNotifySub(ctx, args[0], *c.platform.v, *c.chatID.v, c.threadID.String())
	if err != nil {
		return err
	}
	if !ok {
		return failf("(no such subscription)")
	}
	a.out("Unsubscribed from %s", args[0])
	return nil
}
